/**
 * Session flows: platform events in, the CRM kept up to date. Each event is merged into the
 * session's state (persisted in the store) and turned into durable writes:
 *   account step → record step (record reuse rules) → comments, updates, uploads,
 * each waiting for the ids it needs (depends_on) and all of a session in order (one ordering
 * key). Every write has an idempotency key derived from the session and the event, so an
 * event processed twice (a retry, a duplicate, a crash halfway) never writes twice.
 */
import type { Connector } from '../config/types';
import { GatewayError } from '../errors';
import type { Gateway } from '../gateway';
import type { DeliveryService } from '../delivery/service';
import type { DeliveryStore, SessionWaiting } from '../delivery/store';
import type { Delivery } from '../delivery/types';
import { renderLinks } from '../operations/links';
import { formatPhone, type CountryCode } from '../phone';
import { renderLongText } from '../template/long-text';
import { renderText } from '../template/render';
import { normalizeEvent, type EventKind, type NormalizedEvent } from './events';
import { applySignedCustomData } from './signed-data';
import { displayVariables, only, type StepFacts } from './steps';
import { resolveIdentity } from './identity';
import { RECORD_POP_POLICY } from './record-pop';
import { fieldMappingWrite, stampSessionTimes } from './field-mappings';
import { planOutcomeEmail } from '../outcome-email/plan';
import { planStoredCopy, STORAGE_POLICY, storedCopyLink } from './store-file';

export interface SessionState {
  vars: Record<string, string | number | boolean>;
  events: Array<{ key: string; type: string; at: number }>;
  /** Step name → delivery id. */
  steps: Record<string, string>;
  agentAssigned: boolean;
  ended: boolean;
  /** An event said the session was abandoned (data.abandoned: true). */
  abandoned?: boolean;
  outbound: boolean;
  cuid?: string;
  /** The CUID came from custom_data_secured whose signature verified. */
  cuidVerified?: boolean;
  /** Writes held back until the record step exists (record creation delayed until an agent). */
  held: Array<{
    name: string;
    operation: 'add_comment' | 'update_record' | 'upload_file';
    variables: Record<string, unknown>;
    file?: { base64: string; name: string; type: string; kind: string };
  }>;
  warnings: string[];
  /** What the session waits for before its writes can go out, and since when (README "Customer identity from adapter events"). */
  waiting?: { for: 'customer_identity' | 'agent'; since: number };
  /** Still no identity after events.unidentified_after_seconds: marked by the sweep; cleared when identity arrives. */
  unidentifiedAt?: number;
}

export interface EventOutcome {
  duplicate: boolean;
  session: SessionView;
}

export type SessionView = Awaited<ReturnType<FlowEngine['view']>>;

/** What the session view reads of a step's delivery. */
type StepDelivery = Pick<Delivery, 'operation' | 'status' | 'lastError' | 'result'>;
/** Delivered steps remembered for the session view (a few hundred bytes each). */
const DELIVERED_KEPT = 5000;

const emptyState = (): SessionState => ({ vars: {}, events: [], steps: {}, agentAssigned: false, ended: false, outbound: false, held: [], warnings: [] });

export class FlowEngine {
  /** One event at a time per session in this process; across replicas the version check decides. */
  private locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: DeliveryStore,
    private readonly service: DeliveryService,
    private readonly gateway: Gateway,
  ) {}

  /** `vars`: variables a source mapped by name (flow posts), set whatever the event type reads from its data. */
  async handle(connectorId: string, sessionId: string, body: unknown, typeHint?: string, vars?: NormalizedEvent['vars']): Promise<EventOutcome> {
    const c = this.gateway.connector(connectorId);
    if (!/^[\w.:@-]{1,200}$/.test(sessionId))
      throw new GatewayError('validation_failed', 'sessionId: 1-200 characters of letters, digits and . : @ _ -', {
        errors: [{ field: 'sessionId', message: 'invalid' }],
      });
    const ev = normalizeEvent(body, typeHint);
    // The key is the connector's: custom_data_secured counts only once verified with it.
    applySignedCustomData(ev, c.events?.signedCustomData, this.gateway.now(), (line) =>
      this.gateway.logger.warn({ connector: c.id, session: sessionId }, line),
    );
    if (vars) ev.vars = { ...ev.vars, ...vars };
    const file = ev.facts.file?.url && !ev.facts.file.base64 ? await this.download(c, ev) : undefined;
    const key = `${connectorId}\u0000${sessionId}`;
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.apply(c, sessionId, ev, file));
    this.locks.set(key, run);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === run) this.locks.delete(key);
    }
  }

  private async apply(c: Connector, sessionId: string, ev: NormalizedEvent, downloaded?: Buffer): Promise<EventOutcome> {
    this.mapIdentity(c, ev);
    for (let tries = 0; ; tries++) {
      const loaded = await this.store.loadSession(c.id, sessionId);
      const state: SessionState = loaded ? (loaded.state as unknown as SessionState) : emptyState();
      if (state.events.some((e) => e.key === ev.key)) return { duplicate: true, session: await this.view(c.id, sessionId, state) };
      const now = this.gateway.now();
      this.merge(c, state, ev, sessionId, ev.facts.at ?? now);
      state.events.push({ key: ev.key, type: ev.type, at: ev.facts.at ?? now });
      await this.plan(c, sessionId, state, ev, downloaded);
      updateWaiting(c, state, now);
      const saved = await this.store.saveSession(
        c.id,
        sessionId,
        state as unknown as Record<string, unknown>,
        loaded?.version ?? 0,
        {
          customerKey: customerKey(state),
          endedAt: state.ended ? now : undefined,
          waiting: waitingMeta(state),
        },
        now,
      );
      if (saved) return { duplicate: false, session: await this.view(c.id, sessionId, state) };
      // Another replica updated the session meanwhile: redo on the fresh state (writes are idempotent).
      if (tries >= 5) throw new GatewayError('conflict', `session ${sessionId} is being updated concurrently; retry the event`);
    }
  }

  /**
   * events.identity: the customer's phone, e-mail, SDK id, name… read from the event's data by
   * the connector's paths, for what the event does not say itself (its own end_user fields win).
   * A phone number that does not parse falls through to the next path.
   */
  private mapIdentity(c: Connector, ev: NormalizedEvent): void {
    if (!c.events.identity.length) return;
    const region = c.phone.defaultRegion as CountryCode | undefined;
    const accept = (variable: string, v: string) => variable !== 'PHONE_NUMBER' || formatPhone(v, 'e164', 'write', region).ok;
    const found = resolveIdentity(c.events.identity, ev.data ?? {}, ev.facts.verifiedCustomData, accept);
    for (const [k, v] of Object.entries(found.vars)) {
      // The event's own value wins, unless it is a phone number that does not parse ("anonymous").
      if (ev.vars[k] === undefined || !accept(k, String(ev.vars[k]))) ev.vars[k] = v;
    }
  }

  /**
   * The sweep (README "Customer identity from adapter events"): sessions still waiting for the
   * customer's identity after events.unidentified_after_seconds are marked unidentified. Their
   * held writes stay; a later event with identity sends them and clears the mark. Returns how
   * many were marked. Safe on every replica: a mark is a versioned save of the session.
   */
  async markUnidentified(limit = 500): Promise<number> {
    let marked = 0;
    for (const l of this.gateway.list()) {
      const c = l.connector;
      if (!c) continue;
      const now = this.gateway.now();
      for (const sessionId of await this.store.overdueIdentity(c.id, now - c.events.unidentifiedAfterMs, limit)) {
        const key = `${c.id}\u0000${sessionId}`;
        const run = (this.locks.get(key) ?? Promise.resolve())
          .catch(() => undefined)
          .then(async () => {
            const loaded = await this.store.loadSession(c.id, sessionId);
            const state = loaded?.state as unknown as SessionState | undefined;
            if (!loaded || !state || state.waiting?.for !== 'customer_identity' || state.unidentifiedAt !== undefined) return false;
            state.unidentifiedAt = now;
            // A concurrent event wins (false): the next sweep looks again.
            return this.store.saveSession(c.id, sessionId, state as unknown as Record<string, unknown>, loaded.version, { waiting: waitingMeta(state) }, now);
          });
        this.locks.set(key, run);
        try {
          if (await run) marked++;
        } finally {
          if (this.locks.get(key) === run) this.locks.delete(key);
        }
      }
    }
    return marked;
  }

  /** Event facts into the session's variables: known names only; a number that cannot be parsed is dropped with a warning. */
  private merge(c: Connector, state: SessionState, ev: NormalizedEvent, sessionId: string, at: number): void {
    for (const [k, v] of Object.entries(ev.vars)) {
      if (k === 'PHONE_NUMBER' || k === 'OUTBOUND_PHONE_NUMBER') {
        const parsed = formatPhone(String(v), 'e164', 'write', c.phone.defaultRegion as CountryCode | undefined);
        if (!parsed.ok) {
          state.warnings.push(`${ev.type}: ${k} ignored: ${parsed.reason}`);
          continue;
        }
      }
      state.vars[k] = v;
    }
    state.vars.SESSION_ID = sessionId;
    if (ev.facts.agentAssigned) state.agentAssigned = true;
    if (ev.facts.direction === 'outbound') state.outbound = true;
    if (ev.kind === 'end') state.ended = true;
    if (ev.facts.abandoned) state.abandoned = true;
    // A CUID from verified custom data is not replaced by an unsigned one later.
    if (ev.facts.verifiedCustomData?.cuid !== undefined) {
      state.cuid = String(ev.facts.verifiedCustomData.cuid);
      state.cuidVerified = true;
    } else if (ev.facts.customData?.cuid !== undefined && !state.cuidVerified) state.cuid = String(ev.facts.customData.cuid);
    if (ev.facts.disposition)
      Object.assign(state.vars, defined({ DISPOSITION_CODE: ev.facts.disposition.code, DISPOSITION_NOTES: ev.facts.disposition.notes }));
    if (ev.facts.transfer) Object.assign(state.vars, defined({ TRANSFER_FROM: ev.facts.transfer.from, TRANSFER_TO: ev.facts.transfer.to }));
    if (ev.facts.survey) state.vars.SURVEY = ev.facts.survey.map((a) => `${a.question}: ${a.answer}`).join('\n');
    if (ev.facts.customData && ev.kind === 'custom_data')
      state.vars.CUSTOM_DATA = Object.entries(ev.facts.customData)
        .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
        .join('\n');
    if (ev.kind === 'verification') state.vars.VERIFIED = 'yes';
    state.vars.EVENT_TYPE = ev.type;
    // The earliest event and end event, whatever order they arrive in (ISO 8601 sorts as text).
    const iso = new Date(at).toISOString();
    if (state.vars.START_TIME === undefined || iso < String(state.vars.START_TIME)) state.vars.START_TIME = iso;
    if (ev.kind === 'end' && (state.vars.END_TIME === undefined || iso < String(state.vars.END_TIME))) state.vars.END_TIME = iso;
    for (const w of ev.facts.warnings ?? []) if (!state.warnings.includes(w)) state.warnings.push(w);
  }

  /** The durable writes this event calls for. */
  private async plan(c: Connector, sessionId: string, state: SessionState, ev: NormalizedEvent, downloaded?: Buffer): Promise<void> {
    const orderingKey = `${c.id}:session:${sessionId}`;
    stampSessionTimes(state, ev, this.gateway.now());
    // Raw values go to CRM calls (prepareCall formats phone numbers once); `text` renders what people read.
    const vars: Record<string, unknown> = { ...state.vars };
    const text = displayVariables(c, state.vars);
    // Nothing is written before the customer can be identified (an End_Call may arrive first).
    if (!state.steps.account && identified(state)) {
      const d = await this.service.acceptStep(c.id, 'resolve_account', only(c, vars), {
        idempotencyKey: `${sessionId}:account`,
        orderingKey,
        stepFacts: { ...this.facts(sessionId, state) },
      });
      state.steps.account = d.delivery.id;
    }
    const recordWanted = c.endpoints.has('create_record') || c.endpoints.has('find_record');
    const agentGate = !c.flows.delayRecordUntilAgent || state.agentAssigned || (state.ended && c.flows.recordsForAbandoned);
    const abandonedGate = !(state.ended && !state.agentAssigned && !c.flows.recordsForAbandoned);
    if (!state.steps.record && state.steps.account && recordWanted && agentGate && abandonedGate) {
      const facts: StepFacts = { ...this.facts(sessionId, state), previousSessionEndedAt: await this.previousEnd(c, sessionId, state) };
      const d = await this.service.acceptStep(c.id, 'resolve_record', only(c, vars), {
        idempotencyKey: `${sessionId}:record`,
        orderingKey,
        dependsOn: state.steps.account,
        stepFacts: { ...facts },
      });
      state.steps.record = d.delivery.id;
      // Right after creation, an internal comment (only if the record was created, not reused).
      if (c.flows.commentOn.has('record_created') && c.endpoints.has('add_comment')) {
        const body = renderLongText(c.flows.templates.record_created, text, c.settings.convertTextToHtml);
        await this.write(c, sessionId, state, 'record_created', 'add_comment', { ...vars, COMMENT_BODY: body }, undefined, true);
      }
      // Writes that waited for the record step go out now, in their original order.
      for (const h of state.held.splice(0)) await this.write(c, sessionId, state, h.name, h.operation, h.variables, h.file);
    }
    // Pushed screen pop: once per session, after the record step (its own chain, so a receiver
    // that is down never holds up the session's CRM writes).
    if (state.steps.record && !state.steps.record_pop && c.events.recordPop && c.lookupUrls.record) {
      const d = await this.service.acceptStep(
        c.id,
        'record_pop',
        {},
        { idempotencyKey: `${sessionId}:record_pop`, dependsOn: state.steps.record, stepFacts: { sessionId }, policy: RECORD_POP_POLICY },
      );
      state.steps.record_pop = d.delivery.id;
    }
    // Session outcome e-mail: the transcript kept, and at the end one e-mail step, due later.
    await planOutcomeEmail(c, sessionId, state, ev, downloaded, this.service);

    const html = c.settings.convertTextToHtml;
    const comment = (name: EventKind | 'file', extra: Record<string, unknown> = {}) => {
      if (!c.flows.commentOn.has(name) || !c.endpoints.has('add_comment')) return undefined;
      const body = renderLongText(c.flows.templates[name as keyof typeof c.flows.templates], { ...text, ...extra }, html);
      return { ...vars, ...extra, COMMENT_BODY: body };
    };
    const writes: Array<[string, 'add_comment' | 'update_record' | 'upload_file', Record<string, unknown>, SessionState['held'][number]['file']?]> = [];
    if (['end', 'csat', 'transfer', 'disposition', 'custom_data', 'survey', 'verification', 'note'].includes(ev.kind)) {
      const v = comment(ev.kind);
      if (v) writes.push([`${ev.key}:comment`, 'add_comment', v]);
    }
    if (c.flows.updateRecordOn.has(ev.kind) && c.endpoints.has('update_record')) {
      writes.push([
        `${ev.key}:update`,
        'update_record',
        {
          ...vars,
          TICKET_DESCRIPTION: renderLongText(c.flows.templates.description, text, false),
          TICKET_DESCRIPTION_HTML: renderLongText(c.flows.templates.description, text, true),
        },
      ]);
    }
    if (ev.kind === 'file' && ev.facts.file) {
      // storage.link_in_crm: the CRM's link goes to the stored copy, not to the platform's private URL.
      const f = { ...ev.facts.file, url: storedCopyLink(c, sessionId, state.vars, ev.facts.file, downloaded) ?? ev.facts.file.url };
      const upload = c.endpoints.get('upload_file');
      const fileVars = { ...vars, FILE_NAME: f.name, FILE_TYPE: f.type, FILE_KIND: f.kind, ...(f.url ? { FILE_URL: f.url } : {}) };
      if (upload && upload.upload!.fileKinds.has(f.kind) && (c.settings.sendFilesToCrm || f.url)) {
        const base64 = f.base64 ?? downloaded?.toString('base64') ?? '';
        writes.push([`${ev.key}:upload`, 'upload_file', fileVars, { base64, name: f.name, type: f.type, kind: f.kind }]);
      } else if (!upload) {
        const v = comment('file', { ...fileVars, ATTACHMENT_URL: f.url ?? '' });
        if (v) writes.push([`${ev.key}:file-link`, 'add_comment', v]);
      } else {
        state.warnings.push(`${ev.type}: ${f.kind} files are not sent to this CRM (upload.file_kinds)`);
      }
    }
    // External storage: its own delivery per file, waiting for nothing (README "External storage").
    if (ev.kind === 'file' && ev.facts.file && c.storage?.kinds.has(ev.facts.file.kind) && !state.steps[`${ev.key}:store`]) {
      const copy = planStoredCopy(c, sessionId, state.vars, ev.facts.file, downloaded);
      if ('warning' in copy) state.warnings.push(`${ev.type}: ${copy.warning}`);
      else
        state.steps[`${ev.key}:store`] = (
          await this.service.acceptStep(c.id, 'store_file', {}, { idempotencyKey: `${sessionId}:${ev.key}:store`, ...copy })
        ).delivery.id;
    }
    // The session metadata file, metadata_file.delay_minutes after the end (README "Session metadata file").
    if (state.ended && c.metadataFile && !state.steps.metadata_file) {
      const d = await this.service.acceptStep(
        c.id,
        'metadata_file',
        {},
        { idempotencyKey: `${sessionId}:metadata_file`, stepFacts: { sessionId }, delayMs: c.metadataFile.delayMs, policy: STORAGE_POLICY },
      );
      state.steps.metadata_file = d.delivery.id;
    }
    const fields = fieldMappingWrite(c, ev, vars, this.gateway.now());
    if (fields) writes.push(fields);
    for (const [name, operation, variables, file] of writes) {
      if (!state.steps.record) state.held.push({ name, operation, variables, file });
      else await this.write(c, sessionId, state, name, operation, variables, file);
    }
  }

  private async write(
    c: Connector,
    sessionId: string,
    state: SessionState,
    name: string,
    operation: 'add_comment' | 'update_record' | 'upload_file',
    variables: Record<string, unknown>,
    file?: SessionState['held'][number]['file'],
    onlyIfCreated = false,
  ): Promise<void> {
    const batched = c.flows.batching && (c.flows.batching.operations as ReadonlySet<string>).has(operation);
    const d = await this.service.accept(
      c.id,
      operation,
      {
        variables: only(c, variables),
        file: file ? { data: Buffer.from(file.base64, 'base64'), name: file.name, type: file.type, kind: file.kind as never } : undefined,
      },
      {
        idempotencyKey: `${sessionId}:${name}`,
        dependsOn: state.steps.record,
        orderingKey: `${c.id}:session:${sessionId}`,
        delayMs: batched ? c.flows.batching!.windowMs : undefined,
        waitOnDeadDependency: true,
        onlyIfDependencyCreated: onlyIfCreated,
      },
    );
    state.steps[name] = d.delivery.id;
  }

  private facts(sessionId: string, state: SessionState): StepFacts {
    return { sessionId, outbound: state.outbound };
  }

  private async previousEnd(c: Connector, sessionId: string, state: SessionState): Promise<number | undefined> {
    const k = customerKey(state);
    return k ? this.store.lastSessionEnd(c.id, k, sessionId) : undefined;
  }

  /** Through the connector's HTTP client: the same SSRF guard as CRM calls, re-checked on redirects. */
  private async download(c: Connector, ev: NormalizedEvent): Promise<Buffer> {
    const f = ev.facts.file!;
    const redactor = this.gateway.redactor.with(Object.values(f.headers ?? {})); // the caller's header values, masked in this download's errors only
    try {
      const res = await this.gateway.runtime(c.id).http.request({ method: 'GET', url: f.url!, headers: f.headers ?? {}, timeoutMs: 30_000 });
      if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}`);
      return res.body;
    } catch (e) {
      if ((e as { code?: string }).code === 'ESSRF') throw new GatewayError('destination_blocked', redactor.redact(`File_Available: ${(e as Error).message}`));
      throw new GatewayError(
        'file_download_failed',
        redactor.redact(
          `File_Available: downloading ${new URL(f.url!).origin}${new URL(f.url!).pathname} failed: ${(e as Error).message}; the event was not accepted, send it again`,
        ),
      );
    }
  }

  /**
   * Delivered steps, as the view shows them. Every event's answer is the session view, which reads
   * each step's delivery: by the end of a call that was ~50 reads per session, most of them of
   * steps long delivered. Delivered is final (only dead, cancelled and unknown-outcome deliveries
   * change again), so those are kept here, slim and bounded.
   */
  private readonly delivered = new Map<string, StepDelivery>();

  private async stepDelivery(id: string): Promise<StepDelivery | undefined> {
    const known = this.delivered.get(id);
    if (known) return known;
    const d = await this.store.get(id);
    if (d?.status !== 'delivered') return d;
    const slim: StepDelivery = { operation: d.operation, status: d.status, lastError: d.lastError, result: d.result };
    this.delivered.set(id, slim);
    if (this.delivered.size > DELIVERED_KEPT) this.delivered.delete(this.delivered.keys().next().value as string);
    return slim;
  }

  /** What the platform sees: ids, steps and their delivery status, screen-pop URLs rendered now. */
  async view(connectorId: string, sessionId: string, known?: SessionState) {
    const c = this.gateway.connector(connectorId);
    const state = known ?? ((await this.store.loadSession(connectorId, sessionId))?.state as unknown as SessionState | undefined);
    if (!state) throw new GatewayError('not_found', `no session ${sessionId} for connector ${connectorId}`);
    const deliveries = new Map<string, StepDelivery | undefined>();
    const deliveryIds = new Map<string, string>(Object.entries(state.steps));
    const steps = Object.entries(state.steps);
    // Read together (one round trip's wait on PostgreSQL, not one per step).
    const read = await Promise.all(steps.map(([, id]) => this.stepDelivery(id)));
    steps.forEach(([name], i) => deliveries.set(name, read[i]));
    // Writes a step asked for when it ran (an upload's comment, the reopening update): listed under
    // "<step>:follow-up:<operation>", so one that died is as visible as the step itself.
    for (const [name, d] of [...deliveries.entries()]) {
      const followUps = Array.isArray(d?.result?.follow_ups) ? (d!.result!.follow_ups as string[]) : [];
      const got = await Promise.all(followUps.map((id) => this.stepDelivery(id)));
      followUps.forEach((id, i) => {
        const key = `${name}:follow-up:${got[i]?.operation ?? id}`;
        deliveries.set(key, got[i]);
        deliveryIds.set(key, id);
      });
    }
    const account = deliveries.get('account');
    const record = deliveries.get('record');
    const ids = { ACCOUNT_ID: account?.result?.ids.ACCOUNT_ID, RECORD_ID: record?.result?.ids.RECORD_ID };
    const phone = state.vars.PHONE_NUMBER;
    const lookup = defined({
      ACCOUNT_ID: ids.ACCOUNT_ID,
      RECORD_ID: ids.RECORD_ID,
      PHONE_NUMBER: phone,
      CUSTOMER_PHONE_NUMBER: phone,
      ANI: phone,
      CUID: state.cuid,
      EMAIL: state.vars.EMAIL,
      MENU_PATH: state.vars.MENU_PATH,
      MENU_ID: state.vars.QUEUE_ID,
      CHANNEL: state.vars.CHANNEL,
      TYPE: state.vars.SESSION_TYPE,
      SESSION_ID: sessionId,
      CUSTOM_AGENT_ID: state.vars.AGENT_CUSTOM_ID,
      OUTBOUND_NUMBER: state.vars.OUTBOUND_PHONE_NUMBER,
    });
    const links = renderLinks(c, Object.fromEntries(Object.entries(lookup).map(([k, v]) => [k, String(v)])));
    const sdk = state.cuid !== undefined || /app|web|mobile|sdk/i.test(String(state.vars.SESSION_TYPE ?? ''));
    const temporary = account?.result?.outcome === 'temporary_account';
    // Masked like every other answer: a step's last error may quote what a CRM or token endpoint said.
    return this.gateway.redactor.redactDeep({
      connector: connectorId,
      session_id: sessionId,
      account_id: ids.ACCOUNT_ID ?? null,
      record_id: ids.RECORD_ID ?? null,
      account: account?.result?.outcome ?? account?.status ?? null,
      record: record?.result?.outcome ?? record?.status ?? (c.flows.delayRecordUntilAgent && !state.agentAssigned ? 'waiting_for_agent' : null),
      ended: state.ended,
      // Why the writes are held: the customer's identity (no phone, e-mail or SDK id yet) or an agent.
      waiting_for: state.waiting?.for ?? null,
      waiting_since: state.waiting ? new Date(state.waiting.since).toISOString() : null,
      unidentified: state.unidentifiedAt !== undefined,
      ...(state.unidentifiedAt !== undefined ? { unidentified_since: new Date(state.unidentifiedAt).toISOString() } : {}),
      links: {
        account: links.account ?? null,
        record: links.record ?? null,
        // The number-keyed URL for IVR/PSTN/SMS sessions, the CUID/email-keyed one for SDK sessions.
        lookup: (sdk ? links.custom_by_identity : links.custom_by_phone) ?? null,
        ...(temporary && c.flows.openCustomUrl ? { popup: renderLinksFrom(c, lookup) } : {}),
      },
      record_pop: links.record ? { type: 'CRM_Record_Pop', data: { recordUrl: links.record } } : null,
      steps: [...deliveries.entries()].map(([name, d]) => ({
        name,
        delivery_id: deliveryIds.get(name)!,
        operation: d?.operation,
        status: d?.status ?? 'unknown',
        ...(d?.lastError ? { last_error: d.lastError } : {}),
      })),
      held: state.held.map((h) => h.name),
      events: state.events.map((e) => ({ type: e.type, at: new Date(e.at).toISOString() })),
      warnings:
        record?.result?.outcome === 'not_created'
          ? [
              ...state.warnings,
              `no record: ${String(record.result.reason ?? 'settings.skip_record_creation')}; the session's comments, updates and files are not written`,
            ]
          : state.warnings,
    });
  }
}

/** The variables that identify the customer: with none of them, nothing is written. */
const IDENTITY_VARIABLES = ['PHONE_NUMBER', 'EMAIL', 'SDK_IDENTIFIER', 'NAME', 'ACCOUNT_ID', 'UJET_ID'];
const identified = (state: SessionState) => IDENTITY_VARIABLES.some((k) => state.vars[k] !== undefined);

/**
 * What keeps the session's writes back: the customer's identity (no account step yet), or an
 * agent (flows.delay_record_until_agent, the call still on). Undefined: nothing.
 */
export function waitingFor(c: Connector, state: SessionState): 'customer_identity' | 'agent' | undefined {
  if (!state.steps.account) return identified(state) ? undefined : 'customer_identity';
  const recordWanted = c.endpoints.has('create_record') || c.endpoints.has('find_record');
  if (!state.steps.record && recordWanted && c.flows.delayRecordUntilAgent && !state.agentAssigned && !state.ended) return 'agent';
  return undefined;
}

function updateWaiting(c: Connector, state: SessionState, now: number): void {
  const w = waitingFor(c, state);
  if (w !== 'customer_identity') delete state.unidentifiedAt;
  if (!w) delete state.waiting;
  else if (state.waiting?.for !== w) state.waiting = { for: w, since: now };
}

function waitingMeta(state: SessionState): SessionWaiting | null {
  return state.waiting
    ? { for: state.waiting.for, since: state.waiting.since, ...(state.unidentifiedAt !== undefined ? { unidentifiedAt: state.unidentifiedAt } : {}) }
    : null;
}

function renderLinksFrom(c: Connector, vars: Record<string, unknown>): string | null {
  const url = c.flows.openCustomUrl;
  return url ? (renderText(url, { vars, html: false, missing: new Set() }, encodeURIComponent) ?? null) : null;
}

function customerKey(state: SessionState): string | undefined {
  const v = state.vars.PHONE_NUMBER ?? state.vars.EMAIL ?? state.vars.SDK_IDENTIFIER;
  if (v === undefined) return undefined;
  const e164 = typeof v === 'string' ? formatPhone(v, 'e164', 'write') : undefined;
  return e164?.ok ? e164.value : String(v).toLowerCase();
}

function defined<T extends Record<string, unknown>>(o: T): Record<string, Exclude<T[keyof T], undefined>> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Record<string, Exclude<T[keyof T], undefined>>;
}
