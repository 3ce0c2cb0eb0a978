/**
 * `storage:` with `type: gcs` in a connector file → the compiled GcsStoreConfig (the schema has
 * checked the shapes; this parses the service-account key, adds defaults, and applies what a
 * schema cannot say: the SSRF policy for an endpoint written as an address).
 */
import { createPrivateKey } from 'node:crypto';
import net from 'node:net';
import type { PathSegment } from './yaml-source';
import { SsrfGuard } from '../http/ssrf';
import { GCS_DEFAULTS, type GcsCredentials, type GcsStoreConfig } from './storage-types';

export interface GcsStorageFile {
  type: 'gcs';
  bucket: string;
  /** Folder path inside the bucket (prefix of every object name). */
  folder?: string;
  /** An emulator or private endpoint; default Google's. */
  api_endpoint?: string;
  credentials?: {
    /** The content of a service-account key file (write it as ${env:NAME}). */
    service_account_json?: string;
    /** An OAuth client (id + secret) and a refresh token of a user with access to the bucket. */
    client_id?: string;
    client_secret?: string;
    refresh_token?: string;
    token_url?: string;
  };
  /** Lifetime of the signed links (service account only); default and maximum 168 (7 days). */
  link_expiry_hours?: number;
}

type Report = (path: PathSegment[], message: string, severity?: 'error' | 'warning') => void;

export function compileGcsStorage(
  f: GcsStorageFile | { type: string } | undefined,
  allowPrivateNetwork: readonly string[],
  report: Report,
): GcsStoreConfig | undefined {
  if (!f || typeof f !== 'object' || f.type !== 'gcs') return undefined;
  return compileGcs(f as GcsStorageFile, allowPrivateNetwork, report);
}

function compileGcs(f: GcsStorageFile, allowPrivateNetwork: readonly string[], report: Report): GcsStoreConfig {
  // The schema has reported wrong types already; here they only must not throw.
  const folder = (typeof f.folder === 'string' ? f.folder : '').replace(/^\/+|\/+$/g, '');
  if (folder.split('/').some((p) => p === '.' || p === '..')) report(['folder'], 'a folder path may not contain "." or ".." segments');
  if (folder.includes('//')) report(['folder'], 'a folder path may not contain empty segments ("//")');

  let apiEndpoint: string | undefined;
  if (typeof f.api_endpoint === 'string') {
    apiEndpoint = checkedUrl(f.api_endpoint, ['api_endpoint'], allowPrivateNetwork, report);
  }
  const credentials = f.credentials && typeof f.credentials === 'object' ? compileCredentials(f.credentials, allowPrivateNetwork, report) : undefined;
  if (credentials && apiEndpoint?.startsWith('http:') && !isLoopback(new URL(apiEndpoint).hostname)) {
    report(['api_endpoint'], 'credentials would travel unencrypted over http:// to a host that is not this machine; use https://', 'warning');
  }
  return {
    type: 'gcs',
    bucket: f.bucket,
    folder,
    ...(apiEndpoint ? { apiEndpoint } : {}),
    ...(credentials ? { credentials } : {}),
    linkExpiryMs: Math.round((typeof f.link_expiry_hours === 'number' ? f.link_expiry_hours : GCS_DEFAULTS.linkExpiryHours) * 3_600_000),
  };
}

function compileCredentials(c: GcsStorageFile['credentials'], allow: readonly string[], report: Report): GcsCredentials | undefined {
  if (!c) return undefined;
  const at = (k: string): PathSegment[] => ['credentials', k];
  if (typeof c.service_account_json === 'string') {
    let key: Record<string, unknown>;
    try {
      key = JSON.parse(c.service_account_json) as Record<string, unknown>;
    } catch {
      // Never JSON.parse's own message: it quotes the text, which holds the private key.
      report(
        at('service_account_json'),
        'is not JSON: expected the content of a service-account key file ({"type": "service_account", "client_email": …, "private_key": …})',
      );
      return undefined;
    }
    if (!key || typeof key !== 'object' || key.type !== 'service_account') {
      report(at('service_account_json'), 'is not a service-account key ("type" must be "service_account")');
      return undefined;
    }
    if (typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
      report(at('service_account_json'), 'needs "client_email" and "private_key"');
      return undefined;
    }
    try {
      createPrivateKey(key.private_key);
    } catch {
      report(at('service_account_json'), '"private_key" is not a PEM private key');
      return undefined;
    }
    return {
      kind: 'service_account',
      clientEmail: key.client_email,
      privateKey: key.private_key,
      ...(typeof key.project_id === 'string' ? { projectId: key.project_id } : {}),
    };
  }
  if (typeof c.client_id === 'string' && typeof c.client_secret === 'string' && typeof c.refresh_token === 'string') {
    const tokenUrl = typeof c.token_url === 'string' ? checkedUrl(c.token_url, at('token_url'), allow, report) : undefined;
    return { kind: 'oauth_client', clientId: c.client_id, clientSecret: c.client_secret, refreshToken: c.refresh_token, ...(tokenUrl ? { tokenUrl } : {}) };
  }
  report(['credentials'], 'give either service_account_json, or client_id, client_secret and refresh_token');
  return undefined;
}

/** An http(s) URL whose host, when written as an address (or localhost), the connector's SSRF policy allows. */
function checkedUrl(value: string, path: PathSegment[], allow: readonly string[], report: Report): string | undefined {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    report(path, `"${value}" is not a URL`);
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    report(path, 'must be an http:// or https:// URL');
    return undefined;
  }
  if (u.username || u.password) report(path, 'must not carry credentials in the URL; use credentials:');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const guard = new SsrfGuard({ allow });
  try {
    // Names are resolved (and checked again) when the store is opened; addresses and localhost now.
    if (net.isIP(host)) guard.check(host, host);
    else if (host.toLowerCase() === 'localhost') guard.check(host, '127.0.0.1');
  } catch (e) {
    report(path, (e as Error).message);
  }
  return value.replace(/\/+$/, '');
}

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

/** Values to mask wherever they appear: the key (as written and as JSON shows it), the client secret, the refresh token. */
export function gcsStorageSecrets(f: GcsStorageFile | { type: string } | undefined): string[] {
  const c = f && typeof f === 'object' && f.type === 'gcs' ? (f as GcsStorageFile).credentials : undefined;
  if (!c) return [];
  const out: string[] = [];
  if (typeof c.service_account_json === 'string') {
    out.push(c.service_account_json);
    try {
      const key = JSON.parse(c.service_account_json) as Record<string, unknown>;
      for (const field of ['private_key', 'private_key_id'] as const) {
        const v = key[field];
        if (typeof v !== 'string') continue;
        out.push(v, JSON.stringify(v).slice(1, -1));
        // The key's base64 body on one line (how a PEM looks once its line breaks are lost).
        if (field === 'private_key') {
          out.push(v.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''));
          // And each line of it, in case one line alone gets quoted somewhere.
          for (const line of v.split(/\r?\n/)) if (line.length >= 16 && !line.startsWith('-----')) out.push(line);
        }
      }
    } catch {
      // Not JSON: reported by compileGcsStorage; the whole value is masked anyway.
    }
  }
  for (const v of [c.client_secret, c.refresh_token]) if (typeof v === 'string') out.push(v);
  return out.filter((v) => v.length >= 8);
}
