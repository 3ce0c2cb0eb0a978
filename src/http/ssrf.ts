/**
 * SSRF guard: a connector (or a file URL from an event) must not make the gateway call into
 * its own network — loopback, private, link-local (cloud metadata at 169.254.169.254),
 * CGNAT, unique-local — unless the connector lists the destination in
 * `allow_private_network`. Checked on every connection after DNS resolution (so a public name
 * resolving to a private address is caught) and on IP literals and redirects.
 */
import dns from 'node:dns';
import net from 'node:net';
import { GatewayError } from '../errors';

const BLOCKED = new net.BlockList();
for (const [a, p] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) BLOCKED.addSubnet(a, p, 'ipv4');
for (const [a, p] of [['::1', 128], ['::', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) BLOCKED.addSubnet(a, p, 'ipv6');

export interface NetworkPolicy {
  /** Private destinations this connector may reach: IPs, CIDRs or host names. */
  readonly allow: readonly string[];
}

export class SsrfGuard {
  private readonly allowed = new net.BlockList();
  private readonly allowedHosts = new Set<string>();

  constructor(policy: NetworkPolicy) {
    for (const entry of policy.allow) {
      const [addr, bits] = entry.split('/');
      const family = net.isIP(addr);
      if (family && bits !== undefined) this.allowed.addSubnet(addr, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
      else if (family) this.allowed.addAddress(addr, family === 4 ? 'ipv4' : 'ipv6');
      else this.allowedHosts.add(entry.toLowerCase());
    }
  }

  /** Throws when `address` (resolved for `host`) is private and not allowed. */
  check(host: string, address: string): void {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const ip = mapped ?? address;
    const family = net.isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    if (!BLOCKED.check(ip, family)) return;
    if (this.allowed.check(ip, family) || this.allowedHosts.has(host.toLowerCase().replace(/^\[|\]$/g, ''))) return;
    throw blocked(host, ip);
  }

  /** Verdicts on hosts already seen by checkHost (a connector calls few hosts; bounded anyway). */
  private readonly hostVerdicts = new Map<string, Error | null>();

  /**
   * For IP literals, which do not go through DNS: `hostname` as URL parsed it. Called for every
   * CRM call, so the verdict is remembered per host.
   */
  checkHost(hostname: string): void {
    let verdict = this.hostVerdicts.get(hostname);
    if (verdict === undefined) {
      const host = hostname.replace(/^\[|\]$/g, '');
      try {
        if (net.isIP(host)) this.check(host, host);
        verdict = null;
      } catch (e) {
        verdict = e as Error;
      }
      if (this.hostVerdicts.size >= 256) this.hostVerdicts.clear();
      this.hostVerdicts.set(hostname, verdict);
    }
    if (verdict) throw verdict;
  }

  /** A dns.lookup for http(s).Agent that refuses private answers. */
  readonly lookup = ((hostname: string, options: dns.LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      try {
        for (const a of addresses) this.check(hostname, a.address);
      } catch (e) {
        return callback(e as NodeJS.ErrnoException, '', 0);
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    });
  }) as unknown as typeof dns.lookup;
}

function blocked(host: string, ip: string): NodeJS.ErrnoException {
  const e = new Error(`${host} resolves to ${ip}, a private, loopback or link-local address; add it to the connector's allow_private_network to allow it`) as NodeJS.ErrnoException;
  e.code = 'ESSRF';
  return e;
}

export function destinationBlocked(message: string): GatewayError {
  return new GatewayError('destination_blocked', message);
}
