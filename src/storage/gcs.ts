/**
 * FileStore on a Google Cloud Storage bucket, through Google's own client library
 * (@google-cloud/storage).
 *
 * - Objects are `{folder path}/{storage folder}/{file name}` in the bucket. A put writes the whole
 *   object in one request (uploadType=multipart): the bytes are already in memory, the files
 *   are small to medium, and a retry rewrites the whole object under the same name anyway, so a
 *   resumable session (whose URI would have to survive a restart to be worth anything) buys
 *   nothing. Same name = the object is replaced (a new generation), never a second object.
 * - The library's own retries are off: the delivery store retries with the connector's policy
 *   and records every attempt, and a library retry loop (up to 10 minutes by default) would
 *   hide an outage inside one attempt.
 * - Credentials: a service-account key (JSON), or an OAuth client (id + secret) with a refresh
 *   token of a user who may write to the bucket. HMAC keys are not supported: they sign the
 *   XML/S3-compatible API, which this client library does not speak.
 * - Links: with a service-account key, `url` is a V4 signed URL (read, limited lifetime),
 *   signed locally with the key. With an OAuth client there is no key to sign with, so no link.
 * - `api_endpoint` (an emulator, a private endpoint) is checked against the connector's SSRF
 *   policy when the store is opened, as every other destination of the connector.
 */
import { Storage, type StorageOptions } from '@google-cloud/storage';
import { JWT, UserRefreshClient, type AuthClient } from 'google-auth-library';
import { GatewayError } from '../errors';
import { portOf, type SsrfGuard } from '../http/ssrf';
import type { FileStore, StorageFolder, StoredObject } from './types';
import { GCS_DEFAULTS, type GcsCredentials, type GcsStoreConfig } from '../config/storage-types';

export { GCS_DEFAULTS, type GcsCredentials, type GcsStoreConfig };

/** Least privilege: read and write objects, nothing about buckets or IAM. */
const STORAGE_SCOPE = 'https://www.googleapis.com/auth/devstorage.read_write';

export interface GcsOpenDeps {
  /** The connector's SSRF guard: a custom endpoint (and token URL) must be allowed by it. */
  readonly guard?: SsrfGuard;
  readonly now?: () => number;
  /** Each access token obtained (OAuth refresh, service-account exchange): for the Redactor. */
  readonly learnSecret?: (value: string) => void;
}

/** Opens the store: checks the endpoints against the SSRF policy, then builds the client (no request yet). */
export async function openGcsStore(config: GcsStoreConfig, deps: GcsOpenDeps = {}): Promise<GcsFileStore> {
  if (process.env.STORAGE_EMULATOR_HOST !== undefined) {
    // The client library sends every request to this host when it is set, whatever the
    // connector says: past api_endpoint and the SSRF check. Refuse rather than obey it silently.
    throw new GatewayError(
      'storage_request_failed',
      "STORAGE_EMULATOR_HOST is set: the GCS client library would send every request there instead of the connector's bucket; unset it and use storage.api_endpoint",
      { storage: 'gcs' },
    );
  }
  const destinations = [config.apiEndpoint, config.credentials?.kind === 'oauth_client' ? config.credentials.tokenUrl : undefined];
  for (const url of destinations) if (url && deps.guard) await checkDestination(url, deps.guard);
  return new GcsFileStore(config, deps.now ?? Date.now, deps.learnSecret);
}

export class GcsFileStore implements FileStore {
  readonly kind = 'gcs';
  private readonly storage: Storage;

  constructor(
    private readonly config: GcsStoreConfig,
    private readonly now: () => number = Date.now,
    learnSecret?: (value: string) => void,
  ) {
    const custom = config.apiEndpoint !== undefined && config.apiEndpoint !== GCS_DEFAULTS.apiEndpoint;
    const options: StorageOptions = {
      retryOptions: { autoRetry: false, maxRetries: 0 },
      timeout: config.timeoutMs ?? GCS_DEFAULTS.timeoutMs,
      ...(config.apiEndpoint ? { apiEndpoint: config.apiEndpoint } : {}),
      // No project is needed to read and write objects; without one the library would ask the metadata server.
      projectId: config.credentials?.kind === 'service_account' ? (config.credentials.projectId ?? 'crm-gateway') : 'crm-gateway',
    };
    const auth = authFor(config.credentials, custom);
    if (auth) {
      if (learnSecret)
        auth.client.on('tokens', (t: { access_token?: string | null }) => {
          if (t.access_token) learnSecret(t.access_token);
        });
      options.authClient = auth.client;
      // The library skips auth for a custom endpoint unless told otherwise; configured credentials are meant to be used.
      if (custom) options.useAuthWithCustomEndpoint = true;
      // The key itself, so signing (signed URLs) needs no call to Google.
      if (config.credentials?.kind === 'service_account')
        options.credentials = { client_email: config.credentials.clientEmail, private_key: config.credentials.privateKey };
    }
    this.storage = new Storage(options);
  }

  /** The object name for a file: folder path, storage folder, file name. */
  objectName(folder: StorageFolder, name: string): string {
    checkName(name);
    return [this.config.folder, folder, name].filter((p) => p !== '').join('/');
  }

  async put(folder: StorageFolder, name: string, data: Buffer, contentType: string): Promise<StoredObject> {
    const objectName = this.objectName(folder, name);
    const file = this.storage.bucket(this.config.bucket).file(objectName);
    try {
      await file.save(data, { resumable: false, contentType, metadata: { contentType } });
    } catch (e) {
      throw storageError(e, `writing gs://${this.config.bucket}/${objectName}`);
    }
    const location = `gs://${this.config.bucket}/${objectName}`;
    const url = await this.link(objectName);
    return url ? { location, url } : { location };
  }

  async get(folder: StorageFolder, name: string): Promise<Buffer | undefined> {
    const objectName = this.objectName(folder, name);
    try {
      const [bytes] = await this.storage.bucket(this.config.bucket).file(objectName).download();
      return bytes;
    } catch (e) {
      if ((e as { code?: unknown }).code === 404) return undefined;
      throw storageError(e, `reading gs://${this.config.bucket}/${objectName}`);
    }
  }

  /** A V4 signed read URL when a service-account key is configured; undefined otherwise. */
  async link(objectName: string): Promise<string | undefined> {
    if (this.config.credentials?.kind !== 'service_account') return undefined;
    try {
      const [url] = await this.storage
        .bucket(this.config.bucket)
        .file(objectName)
        .getSignedUrl({
          version: 'v4',
          action: 'read',
          expires: this.now() + this.config.linkExpiryMs,
        });
      return url;
    } catch (e) {
      // Signing is local (the key was checked at load), so this is a configuration problem, not an outage.
      throw new GatewayError('storage_request_failed', `signing a link to gs://${this.config.bucket}/${objectName} failed: ${oneLine((e as Error).message)}`, {
        storage: 'gcs',
      });
    }
  }

  async close(): Promise<void> {
    // Nothing to release: the client keeps no session, only pooled keep-alive sockets that time out.
  }
}

function authFor(credentials: GcsCredentials | undefined, customEndpoint: boolean): { client: AuthClient } | undefined {
  if (!credentials) return undefined;
  if (credentials.kind === 'service_account') {
    // Against Google: the usual token exchange (scoped access token). Against a custom endpoint:
    // a self-signed JWT for that endpoint, because the library's token URL for service accounts
    // is fixed to Google's and an emulator or private endpoint could not be reached with it.
    const client = customEndpoint
      ? new JWT({ email: credentials.clientEmail, key: credentials.privateKey })
      : new JWT({ email: credentials.clientEmail, key: credentials.privateKey, scopes: [STORAGE_SCOPE] });
    return { client };
  }
  const client = new UserRefreshClient({
    clientId: credentials.clientId,
    clientSecret: credentials.clientSecret,
    refreshToken: credentials.refreshToken,
    endpoints: { oauth2TokenUrl: credentials.tokenUrl ?? GCS_DEFAULTS.tokenUrl },
  });
  return { client };
}

/** GCS object names: 1–1024 bytes of UTF-8, no control characters; ours are single names (no slash). */
function checkName(name: string): void {
  // eslint-disable-next-line no-control-regex
  if (name === '' || name === '.' || name === '..' || name.includes('/') || /[\u0000-\u001f\u007f]/.test(name) || Buffer.byteLength(name) > 900) {
    throw new GatewayError('validation_failed', `"${name}" cannot be stored: a file name must be 1-900 bytes, without "/" or control characters`);
  }
}

/**
 * The client's errors → the gateway's. Everything is retried by the delivery (an outage passes,
 * and refused credentials or a missing bucket are fixed by an admin) except a destination the
 * SSRF policy blocks. Messages carry GCS's own text or a network code, never credentials.
 */
export function storageError(e: unknown, doing: string): GatewayError {
  if (e instanceof GatewayError) return e;
  const err = e as { code?: unknown; message?: string; response?: { status?: number; data?: { error?: unknown } }; cause?: { code?: unknown } };
  const code = err.code ?? err.cause?.code;
  if (code === 'ESSRF') return new GatewayError('destination_blocked', `${doing}: ${err.message ?? 'destination blocked'}`, { storage: 'gcs' });
  // Token refresh failures come from google-auth-library (gaxios): only the OAuth error name is safe to repeat.
  const tokenStatus = err.response?.status;
  if (typeof code !== 'number' && typeof tokenStatus === 'number') {
    const oauthError = typeof err.response?.data?.error === 'string' ? err.response.data.error : `HTTP ${tokenStatus}`;
    return new GatewayError(
      tokenStatus >= 500 ? 'storage_unreachable' : 'storage_request_failed',
      `${doing}: getting an access token failed (${oauthError})`,
      { storage: 'gcs', storage_status: tokenStatus },
      { cause: e },
    );
  }
  if (typeof code === 'number') {
    const transient = code >= 500 || code === 429 || code === 408;
    return new GatewayError(
      transient ? 'storage_unreachable' : 'storage_request_failed',
      `${doing}: GCS answered ${code}: ${oneLine(err.message)}`,
      { storage: 'gcs', storage_status: code },
      { cause: e },
    );
  }
  const network = typeof code === 'string' ? code : 'network error';
  return new GatewayError('storage_unreachable', `${doing}: ${network} (${oneLine(err.message)})`, { storage: 'gcs', network_error: network }, { cause: e });
}

function oneLine(s: string | undefined): string {
  return (s ?? '').replace(/\s+/g, ' ').slice(0, 300);
}

/**
 * The connector's SSRF rule for a configured endpoint: an IP literal is checked as is, a name
 * after resolving it (every address), and the gateway's own address is always refused.
 */
export async function checkDestination(url: string, guard: SsrfGuard): Promise<void> {
  const u = new URL(url);
  const fail = (e: unknown): never => {
    throw new GatewayError('destination_blocked', `storage endpoint ${u.origin}: ${(e as Error).message}`, { storage: 'gcs' });
  };
  try {
    guard.checkUrl(u);
  } catch (e) {
    fail(e);
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const lookup = guard.lookupFor(portOf(u));
  await new Promise<void>((resolve, reject) => {
    lookup(host, { all: true }, (err) => {
      if (!err) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ESSRF') return reject(err);
      // Not resolvable now: not a policy question; the first write reports it (and is retried).
      resolve();
    });
  }).catch(fail);
}
