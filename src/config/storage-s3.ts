/**
 * `storage:` with `type: s3` in a connector file → the compiled S3StoreConfig (the schema has
 * checked the shapes; this adds defaults and checks an endpoint written as an address against
 * the connector's SSRF policy at load; names are checked on every connection).
 */
import net from 'node:net';
import type { PathSegment } from './yaml-source';
import { SsrfGuard } from '../http/ssrf';
import type { S3StoreConfig } from './storage-types';

export interface S3StorageFile {
  type: 's3';
  endpoint: string;
  region: string;
  bucket: string;
  folder?: string;
  access_key_id: string;
  secret_access_key: string;
  /** Default true ({endpoint}/{bucket}/{key}); false: {bucket}.{endpoint host}. */
  path_style?: boolean;
  link_expiry_hours?: number;
}

type Report = (path: PathSegment[], message: string, severity?: 'error' | 'warning') => void;

export function compileS3Storage(
  f: S3StorageFile | { type: string } | undefined,
  allowPrivateNetwork: readonly string[],
  report: Report,
): S3StoreConfig | undefined {
  if (!f || typeof f !== 'object' || f.type !== 's3') return undefined;
  return compileS3(f as S3StorageFile, allowPrivateNetwork, report);
}

function compileS3(f: S3StorageFile, allowPrivateNetwork: readonly string[], report: Report): S3StoreConfig {
  // The schema has reported wrong types already; here they only must not throw.
  const folder = (typeof f.folder === 'string' ? f.folder : '').replace(/^\/+|\/+$/g, '');
  if (folder.split('/').some((p) => p === '.' || p === '..')) report(['folder'], 'a folder path may not contain "." or ".." segments');
  if (folder.includes('//')) report(['folder'], 'a folder path may not contain empty segments ("//")');
  let u: URL | undefined;
  try {
    u = new URL(String(f.endpoint));
  } catch {
    report(['endpoint'], `"${f.endpoint}" is not a URL`);
  }
  if (u) {
    if (u.username || u.password) report(['endpoint'], 'must not carry credentials in the URL; use access_key_id and secret_access_key');
    if (u.search || u.hash) report(['endpoint'], 'must not have a query or fragment');
    const host = u.hostname.replace(/^\[|\]$/g, '');
    try {
      const guard = new SsrfGuard({ allow: allowPrivateNetwork });
      if (net.isIP(host)) guard.check(host, host);
      else if (host.toLowerCase() === 'localhost') guard.check(host, '127.0.0.1');
    } catch (e) {
      report(['endpoint'], (e as Error).message);
    }
    if (u.protocol === 'http:' && !/^(localhost|127\.|\[?::1\]?$)/.test(u.hostname))
      report(['endpoint'], 'requests would travel unencrypted over http:// to a host that is not this machine; use https://', 'warning');
  }
  return {
    type: 's3',
    endpoint: String(f.endpoint).replace(/\/+$/, ''),
    region: f.region,
    bucket: f.bucket,
    folder,
    accessKeyId: f.access_key_id,
    secretAccessKey: f.secret_access_key,
    pathStyle: f.path_style ?? true,
    linkExpiryMs: Math.round((typeof f.link_expiry_hours === 'number' ? f.link_expiry_hours : 168) * 3_600_000),
  };
}

export function s3StorageSecrets(f: S3StorageFile | { type: string } | undefined): string[] {
  if (!f || typeof f !== 'object' || f.type !== 's3') return [];
  return [(f as S3StorageFile).secret_access_key].filter((v): v is string => typeof v === 'string' && v.length >= 8);
}
