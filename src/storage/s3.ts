/**
 * FileStore on an S3-compatible bucket (AWS S3, MinIO, Ceph, Wasabi, Cloudflare R2, …): plain
 * PUT/GET Object requests signed with AWS Signature V4, over the gateway's own HTTP client —
 * so every connection goes through the connector's SSRF guard, like its CRM calls. No SDK:
 * two requests and a signature do not justify one.
 *
 * A put is one PUT Object (same key = replaced, never a second object); the delivery retries.
 * `url` is a presigned GET URL (valid `link_expiry_hours`), signed locally.
 */
import { GatewayError } from '../errors';
import { HttpClient, NetworkError, type HttpAnswer } from '../http/client';
import type { SsrfGuard } from '../http/ssrf';
import { presignUrl, sha256Hex, signHeaders, uriEncode } from './sigv4';
import type { FileStore, StorageFolder, StoredObject } from './types';
import type { S3StoreConfig } from '../config/storage-types';

export type { S3StoreConfig };

export interface S3OpenDeps {
  readonly guard?: SsrfGuard;
  readonly now?: () => number;
}

const DEFAULT_TIMEOUT_MS = 60_000;

export class S3FileStore implements FileStore {
  readonly kind = 's3';
  private readonly http: HttpClient;

  constructor(
    private readonly config: S3StoreConfig,
    private readonly deps: S3OpenDeps = {},
  ) {
    this.http = new HttpClient({ timeoutMs: config.timeoutMs ?? DEFAULT_TIMEOUT_MS, guard: deps.guard, maxResponseBytes: 1024 * 1024 * 1024, connections: 8 });
  }

  /** The object key for a file: folder path, storage folder, file name. */
  key(folder: StorageFolder, name: string): string {
    // eslint-disable-next-line no-control-regex
    if (name === '' || name === '.' || name === '..' || name.includes('/') || /[\u0000-\u001f\u007f]/.test(name) || Buffer.byteLength(name) > 900) {
      throw new GatewayError('validation_failed', `"${name}" cannot be stored: a file name must be 1-900 bytes, without "/" or control characters`);
    }
    return [this.config.folder, folder, name].filter((p) => p !== '').join('/');
  }

  /** Where a key lives (encoded once, as it goes on the wire and into the signature). */
  objectUrl(key: string): URL {
    const base = new URL(this.config.endpoint);
    const encodedKey = uriEncode(key, true);
    if (this.config.pathStyle) return new URL(`${base.origin}${base.pathname.replace(/\/+$/, '')}/${uriEncode(this.config.bucket)}/${encodedKey}`);
    return new URL(`${base.protocol}//${this.config.bucket}.${base.host}${base.pathname.replace(/\/+$/, '')}/${encodedKey}`);
  }

  async put(folder: StorageFolder, name: string, data: Buffer, contentType: string): Promise<StoredObject> {
    const key = this.key(folder, name);
    const url = this.objectUrl(key);
    const answer = await this.send('PUT', url, data, { 'content-type': contentType }, `writing s3://${this.config.bucket}/${key}`);
    if (answer.status !== 200) throw failure(answer, `writing s3://${this.config.bucket}/${key}`);
    return { location: `s3://${this.config.bucket}/${key}`, url: presignUrl(url, this.config, this.scope(), this.now(), this.config.linkExpiryMs / 1000) };
  }

  async get(folder: StorageFolder, name: string): Promise<Buffer | undefined> {
    const key = this.key(folder, name);
    const answer = await this.send('GET', this.objectUrl(key), undefined, {}, `reading s3://${this.config.bucket}/${key}`);
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw failure(answer, `reading s3://${this.config.bucket}/${key}`);
    return answer.body;
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private async send(method: 'PUT' | 'GET', url: URL, body: Buffer | undefined, headers: Record<string, string>, doing: string): Promise<HttpAnswer> {
    const payloadHash = body ? sha256Hex(body) : sha256Hex('');
    const signed = signHeaders({ method, path: url.pathname, headers: { host: url.host, ...headers }, payloadHash }, this.config, this.scope(), this.now());
    delete (signed as Record<string, string | undefined>).host; // the client sets Host from the URL (the same value)
    try {
      return await this.http.request({ method, url: url.toString(), headers: signed, ...(body ? { body } : {}) });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ESSRF') throw new GatewayError('destination_blocked', `${doing}: ${(e as Error).message}`, { storage: 's3' });
      const network = e instanceof NetworkError ? e.code : (code ?? 'ERR_NETWORK');
      throw new GatewayError('storage_unreachable', `${doing}: ${network} (${(e as Error).message})`, { storage: 's3', network_error: network });
    }
  }

  private scope() {
    return { region: this.config.region, service: 's3' };
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}

/** An S3 error answer → storage_unreachable (5xx, 429, 408: an outage) or storage_request_failed (credentials, permissions, no bucket). */
function failure(answer: HttpAnswer, doing: string): GatewayError {
  const text = answer.body.toString('utf8', 0, Math.min(answer.body.length, 4096));
  const code = /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1];
  const transient = answer.status >= 500 || answer.status === 429 || answer.status === 408;
  return new GatewayError(transient ? 'storage_unreachable' : 'storage_request_failed', `${doing}: S3 answered ${answer.status}${code ? ` ${code}` : ''}`, {
    storage: 's3',
    storage_status: answer.status,
  });
}
