/**
 * Zoom-style engagement webhooks as a session source, and the reconciliation job that fills in
 * what webhooks missed. Both end in FlowEngine.handle with the same session id (the engagement)
 * and the same event id (the recording, transcript, note or disposition), so a webhook, its
 * duplicate, a late one and the reconciliation that found it are one event; the CRM is written
 * by the session's durable deliveries, never from here.
 *
 * Files are downloaded here, server-side, with the platform's OAuth token (the download URLs
 * are not public), and handed to the session as content: the private URL is neither stored
 * nor written to the CRM.
 */
import type { Connector, ZoomWebhooks } from '../../config/types';
import type { DeliveryStore } from '../../delivery/store';
import { GatewayError } from '../../errors';
import type { FlowEngine } from '../../flows/engine';
import type { Gateway } from '../../gateway';
import { KeyedMutex } from '../../util/keyed-mutex';
import { silentLogger, type Logger } from '../../util/logger';
import { ZoomApi, ZoomApiError } from './client';
import { urlValidationAnswer, verifyZoomSignature } from './signature';
import { URL_VALIDATION, plansForListedRecording, translateZoomEvent, type ZoomEventPlan } from './translate';

export const WATERMARK_SOURCE = 'zoom';
/** The list API answers at most a month per call. */
const LIST_WINDOW_MS = 30 * 86_400_000;
/** How often the scheduler looks whether a connector's run is due. */
const DEFAULT_TICK_MS = 60_000;

export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
}

export type ItemOutcome = 'already_known' | 'delivered_now' | 'failed';

export interface ReconcileReport {
  connector: string;
  from: string;
  to: string;
  /** Recordings and transcripts the platform listed. */
  found: number;
  already_known: number;
  /** Handed to the session now (its CRM writes are durable deliveries). */
  delivered_now: number;
  failed: number;
  items: Array<{ session_id: string; event_id: string; kind: string; recording_end_time?: string; outcome: ItemOutcome; error?: string }>;
  watermark: { before: string | null; after: string | null };
}

export class ZoomSource {
  private readonly apis = new Map<string, ZoomApi>();
  private readonly runs = new KeyedMutex();
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;

  constructor(
    private readonly gw: Gateway,
    private readonly flows: FlowEngine,
    private readonly store: DeliveryStore,
    private readonly logger: Logger = silentLogger,
  ) {}

  /** The connector and its webhooks.zoom, or 404 when it has none. */
  private configured(connectorId: string): { c: Connector; cfg: ZoomWebhooks } {
    const c = this.gw.connector(connectorId);
    const cfg = c.webhooks.zoom;
    if (!cfg) throw new GatewayError('not_found', `connector "${connectorId}" has no webhooks.zoom configured`);
    return { c, cfg };
  }

  /** One client per connector version (a reloaded connector gets a new one, with its new credentials). */
  private api(c: Connector, cfg: ZoomWebhooks): ZoomApi {
    const known = this.apis.get(c.id);
    if (known && known.connector === c) return known;
    if (known) void known.close().catch(() => undefined);
    const api = new ZoomApi(c, cfg, { listen: this.gw.listen, redactor: this.gw.redactor, now: this.gw.now });
    this.apis.set(c.id, api);
    return api;
  }

  /**
   * One webhook request, as received. Throws (a problem answer) for an unknown connector, one
   * without webhooks.zoom, a bad signature or a body that is not an event; nothing is stored then.
   */
  async webhook(connectorId: string, raw: Buffer, headers: { signature?: string; timestamp?: string }): Promise<WebhookAnswer> {
    const { c, cfg } = this.configured(connectorId);
    const verdict = verifyZoomSignature(cfg.secretToken, headers.signature, headers.timestamp, raw, this.gw.now());
    if (!verdict.ok)
      throw new GatewayError('webhook_signature_invalid', `the webhook is not signed with this connector's webhooks.zoom.secret_token: ${verdict.reason}`);
    let envelope: unknown;
    try {
      envelope = JSON.parse(raw.toString('utf8'));
    } catch (e) {
      throw new GatewayError('invalid_json', `the webhook body is not JSON: ${(e as Error).message.slice(0, 200)}`);
    }
    const env = envelope as { event?: unknown; payload?: { plainToken?: unknown } } | null;
    if (env?.event === URL_VALIDATION) {
      const plain = env.payload?.plainToken;
      if (typeof plain !== 'string' || !plain || plain.length > 1024)
        throw new GatewayError('validation_failed', 'endpoint.url_validation needs payload.plainToken', {
          errors: [{ field: 'payload.plainToken', message: 'required' }],
        });
      return { status: 200, body: urlValidationAnswer(cfg.secretToken, plain) };
    }
    const t = translateZoomEvent(envelope, cfg);
    if (t.kind === 'ignored') return { status: 200, body: { event: t.event, outcome: 'ignored', reason: t.reason } };
    const outcome = await this.accept(c, cfg, t.plan);
    this.logger.debug({ connector: c.id, event: t.plan.event, session_id: t.plan.sessionId, event_id: t.plan.eventId, outcome }, 'zoom webhook');
    return { status: 200, body: { event: t.plan.event, session_id: t.plan.sessionId, event_id: t.plan.eventId, outcome } };
  }

  /** Already in the session (webhook, duplicate or an earlier run), or downloaded and handed to it now. */
  private async accept(c: Connector, cfg: ZoomWebhooks, plan: ZoomEventPlan): Promise<'already_known' | 'delivered_now'> {
    const known = await this.store.loadSession(c.id, plan.sessionId);
    const events = (known?.state as { events?: Array<{ key: string }> } | undefined)?.events ?? [];
    if (events.some((e) => e.key === plan.eventId)) return 'already_known';
    let body = plan.body;
    if (plan.file) {
      let file: { body: Buffer; type?: string };
      try {
        file = await this.api(c, cfg).download(plan.file.url);
      } catch (e) {
        if (e instanceof ZoomApiError && e.code === 'ESSRF') throw new GatewayError('destination_blocked', `${plan.event}: ${e.message}`);
        if (e instanceof ZoomApiError && e.code === 'ERR_RESPONSE_TOO_LARGE')
          throw new GatewayError(
            'payload_too_large',
            `${plan.event}: the file is larger than webhooks.zoom.max_file_bytes (${cfg.maxFileBytes}); nothing was accepted`,
          );
        throw new GatewayError('file_download_failed', `${plan.event}: ${(e as Error).message}; nothing was accepted, send it again`);
      }
      body = {
        ...body,
        data: { ...body.data, kind: plan.file.kind, file_name: plan.file.name, content_type: plan.file.type, content_base64: file.body.toString('base64') },
      };
    }
    const out = await this.flows.handle(c.id, plan.sessionId, body);
    return out.duplicate ? 'already_known' : 'delivered_now';
  }

  /**
   * Lists recordings (by recording end time) from `since`, else from the stored watermark less
   * the overlap, else first_lookback_hours back, up to now; hands every recording and
   * transcript the session does not have yet to it. The watermark then moves to the end time
   * of the last item before the first failure (all of them when none failed): what failed is
   * listed again next time. One run per connector at a time in this process.
   */
  async reconcile(connectorId: string, since?: number): Promise<ReconcileReport> {
    const { c, cfg } = this.configured(connectorId);
    return this.runs.run(c.id, async () => {
      const now = this.gw.now();
      // The list API works in whole seconds: "to" is the last whole second, so nothing after it is counted as seen.
      const to = Math.floor(now / 1000) * 1000;
      if (since !== undefined && since > now)
        throw new GatewayError('validation_failed', 'since is in the future', { errors: [{ field: 'since', message: 'after now' }] });
      const stored = await this.store.loadWatermark(c.id, WATERMARK_SOURCE);
      const from = since ?? (stored ? stored.watermark - cfg.reconcile.overlapMs : to - cfg.reconcile.firstLookbackMs);
      const api = this.api(c, cfg);
      const report: ReconcileReport = {
        connector: c.id,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        found: 0,
        already_known: 0,
        delivered_now: 0,
        failed: 0,
        items: [],
        watermark: { before: stored ? new Date(stored.watermark).toISOString() : null, after: null },
      };
      // By event id: windows share their boundary second, so a recording there is listed twice.
      const listed = new Map<string, { end: number; plan: ZoomEventPlan }>();
      let listedUpTo = to;
      try {
        for (let start = from, end = Math.min(to, from + LIST_WINDOW_MS); ; start = end, end = Math.min(to, end + LIST_WINDOW_MS)) {
          for (const r of await api.listRecordings(start, end)) {
            const endMs = typeof r.recording_end_time === 'string' ? Date.parse(r.recording_end_time) : NaN;
            let plans: ZoomEventPlan[];
            try {
              plans = plansForListedRecording(r, cfg);
            } catch (e) {
              report.items.push({
                session_id: String(r.engagement_id ?? ''),
                event_id: `recording:${String(r.recording_id ?? '')}`,
                kind: 'recording',
                outcome: 'failed',
                error: (e as Error).message,
              });
              report.found++;
              report.failed++;
              listedUpTo = Math.min(listedUpTo, (Number.isFinite(endMs) ? endMs : start) - 1);
              continue;
            }
            for (const plan of plans) listed.set(plan.eventId, { end: Number.isFinite(endMs) ? endMs : start, plan });
          }
          if (end >= to) break;
        }
      } catch (e) {
        this.logger.warn({ connector: c.id, err: (e as Error).message }, 'zoom reconciliation: listing recordings failed');
        throw new GatewayError('platform_request_failed', `listing the platform's recordings failed: ${(e as Error).message}; the watermark did not move`);
      }
      let firstFailure = Infinity;
      for (const { end, plan } of [...listed.values()].sort((a, b) => a.end - b.end)) {
        report.found++;
        const item = {
          session_id: plan.sessionId,
          event_id: plan.eventId,
          kind: plan.file?.kind ?? plan.body.type,
          recording_end_time: new Date(end).toISOString(),
        };
        try {
          const outcome = await this.accept(c, cfg, plan);
          report[outcome]++;
          report.items.push({ ...item, outcome });
        } catch (e) {
          report.failed++;
          firstFailure = Math.min(firstFailure, end);
          report.items.push({ ...item, outcome: 'failed', error: this.gw.redactor.redact((e as Error).message) });
        }
      }
      // Only past what was fully handled: just before the earliest failure, else everything listed.
      const watermark = Math.min(to, Math.max(from, Math.min(listedUpTo, firstFailure - 1)));
      await this.store.saveWatermark(c.id, WATERMARK_SOURCE, watermark, now);
      const saved = await this.store.loadWatermark(c.id, WATERMARK_SOURCE);
      report.watermark.after = saved ? new Date(saved.watermark).toISOString() : null;
      this.logger.info(
        { connector: c.id, found: report.found, already_known: report.already_known, delivered_now: report.delivered_now, failed: report.failed },
        'zoom reconciliation',
      );
      return report;
    });
  }

  /** Runs each configured connector's reconciliation when every_hours have passed since its last run (kept in the store). */
  async runDue(): Promise<void> {
    const now = this.gw.now();
    for (const l of this.gw.list()) {
      const cfg = l.connector?.webhooks.zoom;
      if (!cfg || cfg.reconcile.everyMs <= 0) continue;
      try {
        const stored = await this.store.loadWatermark(l.id, WATERMARK_SOURCE);
        // Without a run yet, the first is one interval after start-up (not at every restart).
        if (!stored) {
          await this.store.saveWatermark(l.id, WATERMARK_SOURCE, now - cfg.reconcile.firstLookbackMs, now);
          continue;
        }
        if (now - stored.lastRunAt < cfg.reconcile.everyMs) continue;
        // Replicas whose schedules fall due together: one runs it.
        if (!(await this.store.claimRun(l.id, WATERMARK_SOURCE, now - cfg.reconcile.everyMs + 1, now))) continue;
        await this.reconcile(l.id);
      } catch (e) {
        this.logger.warn(
          { connector: l.id, err: this.gw.redactor.redact((e as Error).message) },
          'zoom reconciliation failed; it runs again at the next interval',
        );
      }
    }
  }

  start(tickMs = DEFAULT_TICK_MS): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.ticking ??= this.runDue().finally(() => {
        this.ticking = undefined;
      });
    }, tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    await Promise.all([...this.apis.values()].map((a) => a.close().catch(() => undefined)));
    this.apis.clear();
  }
}
