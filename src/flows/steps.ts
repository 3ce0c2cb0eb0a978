/**
 * The two composite steps of a session, each one durable delivery retried as a whole:
 *   resolve_account: by id when one is known and find_account_by_id is usable (404 → by
 *     query), else by query, else create — unless creation is skipped, in which case the
 *     record gets a temporary account id and the session shows the "open custom URL";
 *   resolve_record: find the customer's records and apply the record reuse rules, else create
 *     the record (subject and description from the flow templates) and ask for the
 *     "record created" comment as a follow-up write.
 * Finds run first on every try, so a retry after an ambiguous failure does not create twice.
 */
import type { Connector, OperationName } from '../config/types';
import { GatewayError } from '../errors';
import { callEndpoint, type AttemptRecord } from '../operations/call';
import { failure, runOperation } from '../operations/run';
import type { ConnectorRuntime } from '../operations/runtime';
import { prepareCall } from '../operations/variables';
import { renderLongText } from '../template/long-text';
import { PHONE_VARIABLES, REQUEST_VARIABLE_SET } from '../template/variables';
import { formatForConnector } from '../phone';
import { deriveVariables } from '../template/derived';
import type { DeliveryStore } from '../delivery/store';
import { readPath } from '../util/json-path';
import { isCaller, sortKey } from '../http/match-guard';
import type { StepOptions, StepRunner } from '../delivery/worker';
import type { Delivery } from '../delivery/types';
import { chooseRecord, isVoicemail, type RecordFacts } from './record-rules';
import { recoverCreate, UnknownOutcome } from '../delivery/recover';
import { pushRecordPop } from './record-pop';
import { runOutcomeEmail } from '../outcome-email/step';
import { storeFile } from './store-file';
import { makeMetadataFile, type MetadataFileDeps } from './metadata-file';
import type { FileStores } from '../storage/registry';
import type { SessionState } from './engine';

/** Facts a step needs that are not CRM variables; carried beside them (the delivery's `step`). */
export interface StepFacts {
  outbound?: boolean;
  previousSessionEndedAt?: number;
  sessionId: string;
}

type FollowUp = { operation: OperationName; variables: Record<string, unknown> };

/**
 * The step runner for the worker. A step runs with the session's variables as they are when
 * it runs (not only as they were when it was queued): a record created after the agent
 * answered carries the agent.
 */
export function createStepRunner(store: Pick<DeliveryStore, 'loadSession' | 'get' | 'file'>, files?: { stores: FileStores } & MetadataFileDeps): StepRunner {
  return async (d, rt, queued, opts) => {
    const facts = (d.step ?? { sessionId: '' }) as unknown as StepFacts;
    if (d.operation === 'outcome_email') return runOutcomeEmail(d, rt, store, facts.sessionId, opts);
    // External storage and the metadata file (README "External storage", "Session metadata file").
    if (d.operation === 'store_file') return storeFile(d, rt, files?.stores, await store.file(d.id), opts);
    const session = facts.sessionId ? await store.loadSession(d.connectorId, facts.sessionId) : undefined;
    if (d.operation === 'metadata_file') return makeMetadataFile(d, rt, session?.state as unknown as SessionState | undefined, files);
    if (d.operation === 'record_pop') {
      // RECORD_ID comes from the record step this one depends on; ACCOUNT_ID from the account step.
      const accountStep = (session?.state as { steps?: Record<string, string> } | undefined)?.steps?.account;
      const account = accountStep ? await store.get(accountStep) : undefined;
      return pushRecordPop(d, rt, { RECORD_ID: queued.RECORD_ID, ACCOUNT_ID: account?.result?.ids.ACCOUNT_ID, SESSION_ID: facts.sessionId }, opts);
    }
    const latest = (session?.state as { vars?: Record<string, unknown> } | undefined)?.vars ?? {};
    // Raw values (phone numbers as the platform sent them): each CRM call formats them once.
    const vars = { ...queued, ...latest };
    return d.operation === 'resolve_account' ? resolveAccount(d, rt, vars, facts, opts) : resolveRecord(d, rt, vars, facts, opts);
  };
}

/**
 * Phone numbers as the connector writes them and durations as mm:ss, only to render texts
 * people read (subject, description, comments). Never passed to a CRM call as variables: calls
 * get the raw values and prepareCall formats them once (a formatted number parsed again can
 * become another number). A number the connector's format cannot express stays as given.
 */
export function displayVariables(c: Connector, vars: Record<string, unknown>): Record<string, unknown> {
  const out = deriveVariables(vars);
  for (const k of Object.keys(out)) {
    if (!PHONE_VARIABLES.has(k) || typeof out[k] !== 'string') continue;
    const r = formatForConnector(out[k] as string, c.phone, 'write');
    if (r.ok) out[k] = r.value;
  }
  return out;
}

async function resolveAccount(d: Delivery, rt: ConnectorRuntime, vars: Record<string, unknown>, facts: StepFacts, opts: StepOptions) {
  const c = rt.connector;
  const attempts: AttemptRecord[] = [];
  const run = async (op: OperationName, extra: Record<string, unknown> = {}) => {
    const r = await runOperation(rt, op, { variables: { ...only(c, vars), ...extra } }, opts);
    attempts.push(...r.attempts);
    return r;
  };
  const hasLookup = ['PHONE_NUMBER', 'EMAIL', 'SDK_IDENTIFIER', 'ACCOUNT_ID'].some((k) => vars[k] !== undefined && vars[k] !== '');
  if (vars.ACCOUNT_ID !== undefined && c.endpoints.get('find_account_by_id')?.usable) {
    const r = await run('find_account_by_id');
    if (r.outcome === 'ok') return { result: { ids: r.ids, outcome: r.fallback ? 'found_by_query' : 'found_by_id' }, attempts };
  } else if (hasLookup && c.endpoints.get('find_account')) {
    const r = await run('find_account');
    if (r.outcome === 'ok') return { result: { ids: r.ids, outcome: 'found' }, attempts };
  }
  if (c.settings.skipAccountCreation || !c.endpoints.get('create_account')) {
    // "Open custom URL": a temporary account id; the agent gets the pop-up to create it by hand.
    return { result: { ids: { ACCOUNT_ID: temporaryAccountId(facts.sessionId) }, outcome: 'temporary_account' }, attempts };
  }
  const marker = markerVariables(c, 'create_account', d);
  // A find by phone is no proof the earlier try created nothing (CRM search indexes lag).
  const recovered = await recoverAmbiguousCreate(d, rt, 'create_account', { ...only(c, vars), ...marker }, opts, attempts);
  if (recovered) return recovered;
  const r = await run('create_account', marker);
  return { result: { ids: r.ids, outcome: 'created' }, attempts };
}

/** A step's create stamps the step's delivery id on the object, where the connector has a place for it. */
function markerVariables(c: Connector, op: 'create_account' | 'create_record', d: Delivery): Record<string, unknown> {
  return c.endpoints.get(op)?.createdMarker ? { CREATED_MARKER: d.id } : {};
}

/**
 * After a try that may have created the object: the object carrying this step's marker (or,
 * without one, the one created since with the fields sent) is the step's result; when nothing
 * can tell, the step becomes unknown_outcome. Undefined: not ambiguous, or not created.
 */
async function recoverAmbiguousCreate(
  d: Delivery,
  rt: ConnectorRuntime,
  op: 'create_account' | 'create_record',
  variables: Record<string, unknown>,
  opts: StepOptions,
  attempts: AttemptRecord[],
) {
  if (!d.ambiguous) return undefined;
  const rec = await recoverCreate({ rt, op, variables, marker: d.id, firstAttemptAt: d.firstAttemptAt, opts, attempts });
  if (rec.kind === 'unknown') throw new UnknownOutcome(rec.evidence, attempts);
  return rec.kind === 'found' ? { result: { ids: rec.ids, outcome: 'created', recovered_by: rec.by }, attempts } : undefined;
}

/** The stand-in id of an account that was not created; shown to the agent, never sent to the CRM. */
export function temporaryAccountId(sessionId: string): string {
  return `temp-${sessionId}`;
}

async function resolveRecord(d: Delivery, rt: ConnectorRuntime, sessionVars: Record<string, unknown>, facts: StepFacts, opts: StepOptions) {
  const c = rt.connector;
  const attempts: AttemptRecord[] = [];
  const followUps: FollowUp[] = [];
  const now = opts.now();
  // A temporary account is not in the CRM: it has no records to reuse, and its id is not sent
  // (the record is created without an account; the connector says what the CRM gets instead).
  const temporary = sessionVars.ACCOUNT_ID !== undefined && String(sessionVars.ACCOUNT_ID) === temporaryAccountId(facts.sessionId);
  const { ACCOUNT_ID: _temporary, ...withoutAccount } = sessionVars;
  const vars = temporary ? withoutAccount : sessionVars;
  const candidates = temporary ? [] : await findRecords(rt, vars, opts, attempts);
  const text = displayVariables(c, vars);
  const recordVars = {
    ...vars,
    TICKET_SUBJECT: vars.TICKET_SUBJECT ?? renderLongText(c.flows.templates.subject, text, false),
    TICKET_DESCRIPTION: vars.TICKET_DESCRIPTION ?? renderLongText(c.flows.templates.description, text, false),
    TICKET_DESCRIPTION_HTML: vars.TICKET_DESCRIPTION_HTML ?? renderLongText(c.flows.templates.description, text, true),
    ...markerVariables(c, 'create_record', d),
  };
  // Before reusing or creating: did an earlier, ambiguous try create the record already?
  const recovered = c.endpoints.get('create_record') ? await recoverAmbiguousCreate(d, rt, 'create_record', only(c, recordVars), opts, attempts) : undefined;
  if (recovered) return recovered;
  const decision = chooseRecord(
    candidates,
    {
      channel: str(vars.CHANNEL),
      queue: str(vars.QUEUE_NAME ?? vars.MENU_PATH),
      sessionType: str(vars.SESSION_TYPE),
      outbound: facts.outbound === true,
      voicemail: isVoicemail(str(vars.SESSION_TYPE)),
      previousSessionEndedAt: facts.previousSessionEndedAt,
      now,
    },
    { ...c.flows.reuse, reopenClosedWithinMs: c.settings.reopenClosedWithinDays * 86_400_000 },
  );
  if (decision.action === 'reuse') {
    if (decision.reopen && c.endpoints.get('update_record'))
      followUps.push({ operation: 'update_record', variables: { ...only(c, vars), RECORD_ID: decision.id, RECORD_STATUS: c.flows.reuse.reopenStatus } });
    return { result: { ids: { RECORD_ID: decision.id }, outcome: decision.closed ? 'reopened' : 'reused', reason: decision.reason }, attempts, followUps };
  }
  if (c.settings.skipRecordCreation) {
    // No record: the session's comments, updates and files have nowhere to go and are skipped.
    return {
      result: {
        ids: {} as Record<string, string | number>,
        outcome: 'not_created',
        reason: `settings.skip_record_creation: ${decision.reason}, and records are not created`,
      },
      attempts,
    };
  }
  if (!c.endpoints.get('create_record'))
    throw new GatewayError('operation_not_configured', `connector ${c.id} has no create_record endpoint and no record to reuse`);
  const r = await runOperation(rt, 'create_record', { variables: only(c, recordVars) }, opts);
  attempts.push(...r.attempts);
  return { result: { ids: r.ids, outcome: 'created', reason: decision.reason }, attempts, followUps };
}

/** All the customer's records find_record returns, as facts for the reuse rules. */
async function findRecords(rt: ConnectorRuntime, vars: Record<string, unknown>, opts: StepOptions, attempts: AttemptRecord[]): Promise<RecordFacts[]> {
  const c = rt.connector;
  const ep = c.endpoints.get('find_record');
  if (!ep || !c.flows.reuse.enabled) return [];
  const prepared = prepareCall(only(c, vars), c, ep, opts.now());
  const call = await callEndpoint(rt, ep, prepared, undefined, { ...opts, attempts });
  if (call.classification.kind === 'not_found') return [];
  if (call.classification.kind !== 'ok') throw failure(ep, call, attempts);
  const at = readPath(call.response.body, ep.responseDataLocation);
  const all = !at.found || at.value === null || at.value === undefined ? [] : Array.isArray(at.value) ? at.value : [at.value];
  // Find guard: a CRM that ignores the search filter returns other customers' records too.
  const list = all.filter((item) => isCaller(item, { rules: ep.match, values: vars, region: c.phone.defaultRegion }));
  const r = c.flows.reuse;
  return list.flatMap((item): RecordFacts[] => {
    const id = readPath(item, ep.idLocation);
    if (!id.found || (typeof id.value !== 'string' && typeof id.value !== 'number')) return [];
    const text = (p: typeof r.queueLocation) => {
      if (!p) return undefined;
      const v = readPath(item, p);
      return v.found && v.value !== null ? String(v.value) : undefined;
    };
    const created = r.createdAtLocation ? readPath(item, r.createdAtLocation) : undefined;
    return [
      {
        id: id.value,
        status: text(r.statusLocation),
        queue: text(r.queueLocation),
        channel: text(r.channelLocation),
        createdAt: created?.found ? sortKey(created.value) : undefined,
      },
    ];
  });
}

/** Only the variables a connector accepts (session state may hold more). */
export function only(c: Connector, vars: Record<string, unknown>): Record<string, unknown> {
  const known = (k: string) => REQUEST_VARIABLE_SET.has(k) || c.extraVariables.includes(k);
  return Object.fromEntries(Object.entries(vars).filter(([k, v]) => known(k) && v !== undefined && v !== null && typeof v !== 'object'));
}

const str = (v: unknown) => (v === undefined || v === null ? undefined : String(v));
