/**
 * The `store_file` flow step: one file of a session copied to the connector's external
 * storage (README "External storage"). One durable delivery per file, carrying its own copy of
 * the bytes (a CRM upload of the same file has its own; each is dropped once delivered), and
 * its folder and name, decided when the file arrived (storage/layout.ts): a retry writes the
 * same name again and replaces it, never a second file. It waits for nothing (no record, no
 * ordering with the session's CRM writes): a CRM outage does not hold up the copies, and a
 * storage outage does not hold up the CRM. Retried under its own policy, long enough to ride
 * out a storage server that is down for a day.
 */
import type { Connector, RetryPolicy } from '../config/types';
import { GatewayError } from '../errors';
import type { AttemptRecord } from '../operations/call';
import type { ConnectorRuntime } from '../operations/runtime';
import type { Delivery, DeliveryResult, StepFacts as StepFactsRecord } from '../delivery/types';
import { LayoutError, placeFile } from '../storage/layout';
import { storedFileUrl } from '../storage/open';
import type { FileFacts } from './events';
import type { StepOptions } from '../delivery/worker';
import type { FileStores } from '../storage/registry';
import { STORAGE_FOLDERS, type StorageFolder } from '../storage/types';

/** Retried on any failure, 5 s doubling to 10 min, for 3 days. */
export const STORAGE_POLICY: RetryPolicy = {
  profile: 'resilient',
  retryableStatuses: [],
  retryNetworkErrors: true,
  honourRetryAfter: false,
  initialDelayMs: 5000,
  factor: 2,
  maxDelayMs: 10 * 60_000,
  deadlineMs: 3 * 86_400_000,
};

/** What a store_file delivery carries beside its bytes. */
export interface StoreFileFacts {
  sessionId: string;
  folder: StorageFolder;
  name: string;
  kind: string;
  type: string;
}

export async function storeFile(
  d: Delivery,
  rt: ConnectorRuntime,
  files: FileStores | undefined,
  data: Buffer | undefined,
  opts: StepOptions,
): Promise<{ result: DeliveryResult; attempts: AttemptRecord[] }> {
  const f = d.step as unknown as StoreFileFacts;
  const skipped = (reason: string) => ({ result: { ids: {}, outcome: 'skipped', reason }, attempts: [] });
  const store = files?.for(rt);
  if (!store) return skipped('storage: is no longer configured for this connector');
  if (!rt.connector.storage!.kinds.has(f.kind as never)) return skipped(`storage.kinds no longer includes ${f.kind}`);
  if (!(STORAGE_FOLDERS as readonly string[]).includes(f.folder) || !f.name)
    throw new GatewayError('validation_failed', 'store_file: the delivery names no valid folder and file');
  if (!data) throw new GatewayError('validation_failed', "store_file: the file's content is no longer in the store");
  const started = opts.now();
  const request = `PUT ${store.kind} ${f.folder}/${f.name}`;
  const stored = await store.put(f.folder, f.name, data, f.type);
  const attempt: AttemptRecord = {
    operation: d.operation,
    request,
    classification: 'ok',
    reason: `stored ${data.length} bytes`,
    duration_ms: opts.now() - started,
    at: new Date(started).toISOString(),
  };
  return { result: { ids: {}, outcome: 'stored', location: stored.location, ...(stored.url ? { url: stored.url } : {}) }, attempts: [attempt] };
}

/**
 * The store_file delivery for a file that just arrived: its place in the layout (decided now,
 * from the session as it is) and its bytes; or why it cannot be stored (an id that is no safe
 * file name), which the session shows as a warning.
 */
export function planStoredCopy(
  _c: Connector,
  sessionId: string,
  vars: Record<string, unknown>,
  f: FileFacts,
  downloaded: Buffer | undefined,
): { stepFacts: StepFactsRecord; stepFile: { data: Buffer; name: string; type: string; kind: string }; policy: RetryPolicy } | { warning: string } {
  const data = f.base64 !== undefined ? Buffer.from(f.base64, 'base64') : downloaded;
  if (!data) return { warning: `the ${f.kind} file has no content to store` };
  try {
    const p = placeFile({ kind: f.kind, vars, sessionId, contentType: f.type, fileName: f.name, mediaId: f.mediaId, data });
    const facts: StoreFileFacts = { sessionId, folder: p.folder, name: p.name, kind: f.kind, type: f.type };
    return { stepFacts: { ...facts }, stepFile: { data, name: p.name, type: f.type, kind: f.kind }, policy: STORAGE_POLICY };
  } catch (e) {
    if (e instanceof LayoutError) return { warning: `the ${f.kind} file is not stored: ${e.message}` };
    throw e;
  }
}

/**
 * storage.link_in_crm: the link the CRM gets for a file instead of the platform's URL, when the
 * CRM gets a link at all (settings.send_files_to_crm off: no bytes uploaded) and the storage
 * gives one (SFTP with public_url). The link is known before the copy is written; the copy is
 * written beside the CRM writes, so during a storage outage the link answers 404 until it lands.
 */
export function storedCopyLink(
  c: Connector,
  sessionId: string,
  vars: Record<string, unknown>,
  f: FileFacts,
  downloaded: Buffer | undefined,
): string | undefined {
  const s = c.storage;
  if (!s?.linkInCrm || !s.kinds.has(f.kind) || c.settings.sendFilesToCrm) return undefined;
  const copy = planStoredCopy(c, sessionId, vars, f, downloaded);
  return 'warning' in copy ? undefined : storedFileUrl(s.settings, (copy.stepFacts as unknown as StoreFileFacts).folder, copy.stepFile.name);
}
