/**
 * The `metadata_file` flow step (README "Session metadata file"): made metadata_file.delay_minutes
 * after the session's end event (the platform's own metadata file arrives late too), it renders
 * the session's data as JSON (session-metadata.ts) named call-{id}.json / chat-{id}.json, and
 * hands the file to the same deliveries as any other file of the session:
 *   - a `store_file` delivery into ujet-metadata/ when metadata_file.store is on;
 *   - an `upload_file` onto the session's record when metadata_file.send_to_crm is on (after
 *     the record step, in the session's order).
 * Each has an idempotency key derived from the session, so a retry of this step (after a crash
 * halfway) finds the deliveries it already made instead of making second ones; the first
 * rendering stands. Their ids are listed as follow-ups (the session view shows them).
 */
import type { Connector } from '../config/types';
import { GatewayError } from '../errors';
import type { AttemptRecord } from '../operations/call';
import type { ConnectorRuntime } from '../operations/runtime';
import type { DeliveryService } from '../delivery/service';
import type { Delivery, DeliveryResult } from '../delivery/types';
import { LayoutError, placeFile } from '../storage/layout';
import type { SessionState, SessionView } from './engine';
import { sessionMetadata } from './session-metadata';
import { only } from './steps';
import { STORAGE_POLICY, type StoreFileFacts } from './store-file';

export interface MetadataFileDeps {
  deliveries: Pick<DeliveryService, 'accept' | 'acceptStep'>;
  view: (connectorId: string, sessionId: string) => Promise<SessionView>;
}

export async function makeMetadataFile(
  d: Delivery,
  rt: ConnectorRuntime,
  state: SessionState | undefined,
  deps: MetadataFileDeps | undefined,
): Promise<{ result: DeliveryResult; attempts: AttemptRecord[] }> {
  const c = rt.connector;
  const sessionId = String((d.step as { sessionId?: string } | undefined)?.sessionId ?? '');
  const settings = c.metadataFile;
  const skipped = (reason: string) => ({ result: { ids: {}, outcome: 'skipped', reason }, attempts: [] });
  if (!settings) return skipped('metadata_file is no longer configured');
  if (!state) return skipped('the session is gone (retention)');
  if (!deps) throw new Error('no delivery service to hand the metadata file to');
  let placement;
  try {
    placement = placeFile({ kind: 'session_metadata', vars: state.vars, sessionId });
  } catch (e) {
    if (e instanceof LayoutError) throw new GatewayError('validation_failed', `metadata_file: ${e.message}`);
    throw e;
  }
  const body = sessionMetadata(state, await deps.view(c.id, sessionId));
  const data = Buffer.from(`${JSON.stringify(body, null, 2)}\n`);
  const file = { data, name: placement.name, type: 'application/json', kind: 'session_metadata' as const };
  const followUps: string[] = [];
  const notes: string[] = [];
  if (settings.store) {
    if (c.storage?.kinds.has('session_metadata')) {
      const facts: StoreFileFacts = { sessionId, folder: placement.folder, name: placement.name, kind: 'session_metadata', type: file.type };
      const r = await deps.deliveries.acceptStep(
        c.id,
        'store_file',
        {},
        { idempotencyKey: `${sessionId}:metadata_file:store`, stepFacts: { ...facts }, stepFile: file, policy: STORAGE_POLICY },
      );
      followUps.push(r.delivery.id);
    } else notes.push('not stored: storage.kinds leaves out session_metadata');
  }
  if (settings.sendToCrm) {
    const why = crmRefusal(c, state);
    if (why) notes.push(`not sent to the CRM: ${why}`);
    else {
      const r = await deps.deliveries.accept(
        c.id,
        'upload_file',
        {
          variables: { ...only(c, { SESSION_ID: sessionId }), FILE_NAME: file.name, FILE_TYPE: file.type, FILE_KIND: file.kind },
          file,
        },
        {
          idempotencyKey: `${sessionId}:metadata_file:upload`,
          dependsOn: state.steps.record,
          orderingKey: `${c.id}:session:${sessionId}`,
          waitOnDeadDependency: true,
          firstWins: true,
        },
      );
      followUps.push(r.delivery.id);
    }
  }
  return {
    result: {
      ids: {},
      outcome: 'made',
      file: `${placement.folder}/${placement.name}`,
      bytes: data.length,
      ...(notes.length ? { reason: notes.join('; ') } : {}),
      ...(followUps.length ? { follow_ups: followUps } : {}),
    },
    attempts: [],
  };
}

/** Why the metadata file cannot go onto the record, or undefined when it can. */
function crmRefusal(c: Connector, state: SessionState): string | undefined {
  const upload = c.endpoints.get('upload_file');
  if (!upload?.upload?.fileKinds.has('session_metadata')) return 'endpoints.upload_file does not take session_metadata';
  if (!c.settings.sendFilesToCrm) return 'settings.send_files_to_crm is off and the metadata file has no link to post';
  if (!state.steps.record) return 'the session has no record';
  return undefined;
}
