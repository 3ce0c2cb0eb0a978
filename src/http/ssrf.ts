/**
 * SSRF guard: a connector (or a file URL from an event) must not make the gateway call into
 * its own network — loopback, private, link-local (cloud metadata at 169.254.169.254),
 * CGNAT, unique-local — unless the connector lists the destination in
 * `allow_private_network`. Checked on every connection after DNS resolution (so a public name
 * resolving to a private address is caught) and on IP literals and redirects.
 *
 * One guard per connector covers every request the gateway makes for it: CRM calls and file
 * downloads (HttpClient) and OAuth token requests (OAuth2Provider). The gateway's own listen
 * address is refused even when the connector allows private networks: a connector (or a
 * File_Available URL) must not make the gateway call its own API with the gateway's rights.
 */
import dns from 'node:dns';
import net from 'node:net';
import os from 'node:os';
import { GatewayError } from '../errors';

const BLOCKED = new net.BlockList();
for (const [a, p] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  BLOCKED.addSubnet(a, p, 'ipv4');
for (const [a, p] of [
  ['::1', 128],
  ['::', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  BLOCKED.addSubnet(a, p, 'ipv6');

export interface NetworkPolicy {
  /** Private destinations this connector may reach: IPs, CIDRs or host names. */
  readonly allow: readonly string[];
}

/**
 * Where this gateway listens (filled in by serve once the port is known; shared by every
 * connector's guard, so a runtime built before that still sees it).
 */
export class ListenAddresses {
  private readonly ports = new Set<number>();
  private readonly addresses = new Set<string>();
  /** host:port of the public URL (a proxy or load balancer in front of the gateway). */
  private readonly names = new Set<string>();
  private readonly namePorts = new Set<number>();

  add(host: string, port: number): void {
    this.ports.add(port);
    const h = host.replace(/^\[|\]$/g, '').toLowerCase();
    if (h === '0.0.0.0' || h === '::' || h === '') {
      // Listening on every interface: each interface address is ours.
      for (const list of Object.values(os.networkInterfaces())) for (const i of list ?? []) this.addresses.add(i.address.toLowerCase());
    } else this.addresses.add(h);
  }

  /** The gateway's public URL: its host and port are the gateway too, whatever they resolve to. */
  addPublicUrl(url: string): void {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return;
    } // not a URL: nothing can be sent there either
    this.namePorts.add(portOf(u));
    this.names.add(`${u.hostname.toLowerCase()}:${portOf(u)}`);
  }

  /** Is this host name (as written in a URL) and port the gateway's public address? */
  isPublicName(hostname: string, port: number): boolean {
    return this.names.has(`${hostname.toLowerCase()}:${port}`);
  }

  /** Cheap pre-check for the hot path: only requests to one of our ports need a closer look. */
  hasPort(port: number): boolean {
    return this.ports.has(port) || this.namePorts.has(port);
  }

  /** A port the gateway's own server listens on (where any local address may be the gateway). */
  hasListenPort(port: number): boolean {
    return this.ports.has(port);
  }

  /** Is `address:port` (an IP, after DNS) this gateway? */
  isSelf(address: string, port: number): boolean {
    if (!this.ports.has(port)) return false;
    const ip = (/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address).toLowerCase();
    const family = net.isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    // Loopback and "this host" reach a server listening on any address.
    return SELF_ALWAYS.check(ip, family) || this.addresses.has(ip);
  }
}

const SELF_ALWAYS = new net.BlockList();
SELF_ALWAYS.addSubnet('127.0.0.0', 8, 'ipv4');
SELF_ALWAYS.addSubnet('0.0.0.0', 8, 'ipv4');
SELF_ALWAYS.addAddress('::1', 'ipv6');
SELF_ALWAYS.addAddress('::', 'ipv6');

/** The port a URL connects to. */
export function portOf(u: URL): number {
  return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

export class SsrfGuard {
  private readonly allowed = new net.BlockList();
  private readonly allowedHosts = new Set<string>();

  constructor(
    policy: NetworkPolicy,
    private readonly self?: ListenAddresses,
  ) {
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

  /**
   * "Never the gateway itself", before sending: refuses the gateway's public host:port and, on
   * a port the gateway listens on, an IP literal that is one of its addresses (a name there is
   * checked when connecting: lookupFor). Throws an ESSRF error.
   */
  checkSelf(hostname: string, port: number): void {
    if (!this.self?.hasPort(port)) return;
    if (this.self.isPublicName(hostname, port)) throw selfBlocked(`${hostname}:${port}`);
    const host = hostname.replace(/^\[|\]$/g, '');
    if (net.isIP(host) && this.self.isSelf(host, port)) throw selfBlocked(`${hostname}:${port}`);
  }

  /** Both checks that can be made before connecting, for one outbound URL. Throws an ESSRF error. */
  checkUrl(url: URL): void {
    this.checkHost(url.hostname);
    this.checkSelf(url.hostname, portOf(url));
  }

  /** Is `port` one the gateway itself listens on (where any local address may be the gateway)? */
  listensOn(port: number): boolean {
    return this.self?.hasListenPort(port) ?? false;
  }

  /** A dns.lookup for http(s).Agent that refuses private answers. */
  readonly lookup = this.lookupFor(undefined);

  /** The same, for connections to `port`: also refuses the gateway's own addresses there. */
  lookupFor(port: number | undefined): typeof dns.lookup {
    return ((
      hostname: string,
      options: dns.LookupOptions,
      callback: (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void,
    ) => {
      dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) return callback(err, '', 0);
        try {
          for (const a of addresses) {
            this.check(hostname, a.address);
            if (port !== undefined && this.self?.isSelf(a.address, port)) throw selfBlocked(`${hostname}:${port}`);
          }
        } catch (e) {
          return callback(e as NodeJS.ErrnoException, '', 0);
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      });
    }) as unknown as typeof dns.lookup;
  }
}

function blocked(host: string, ip: string): NodeJS.ErrnoException {
  const e = new Error(
    `${host} resolves to ${ip}, a private, loopback or link-local address; add it to the connector's allow_private_network to allow it`,
  ) as NodeJS.ErrnoException;
  e.code = 'ESSRF';
  return e;
}

function selfBlocked(host: string): NodeJS.ErrnoException {
  const e = new Error(
    `${host} is this gateway's own address; the gateway never calls itself (allow_private_network does not change that)`,
  ) as NodeJS.ErrnoException;
  e.code = 'ESSRF';
  return e;
}

export function destinationBlocked(message: string): GatewayError {
  return new GatewayError('destination_blocked', message);
}

/**
 * Does a URL template put a `{VARIABLE}` in its scheme, host or port (everything before the
 * path)? Such a template lets a caller's value choose the destination.
 */
export function hasTemplatedHost(template: string): boolean {
  const m = /^([^/]*:\/\/)?([^/?#]*)/.exec(template);
  const head = m ? (m[1] ?? '') + m[2] : template;
  return /\{[A-Za-z_]/.test(head) || (!m?.[1] && template.startsWith('{'));
}
