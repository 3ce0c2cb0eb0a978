/**
 * A sample Zoom-like contact-center platform for tests and demos (as src/sample-crm/ emulates
 * CRMs): the part of its API an integration reads engagement data from, and the webhooks it sends.
 *
 *   POST /oauth/token?grant_type=account_credentials&account_id=…   server-to-server OAuth,
 *        client id and secret as Basic auth → {access_token, token_type, expires_in, scope}
 *   GET  /v2/contact_center/recordings?from&to&query_date_type&page_size&next_page_token
 *        recordings (with download_url, and transcript_url once transcribed), filtered on
 *        recording_start_time (default) or recording_end_time, paged by next_page_token
 *   GET  /v2/contact_center/recordings/{id}/download | /transcript,
 *        /v2/contact_center/engagements/{id}/messaging_transcript   the files; bearer token only
 *        (a link in a browser gets 401, as the platform's download URLs are not public)
 *   /__control/…   test hooks: faults, request log, state, reset, tokens/expire (as the sample
 *        CRMs), plus /__control/zoom/{engagements,recordings,webhooks}
 *
 * Faults (5xx, slow answers, dropped connections) come from the sample CRMs' fault registry.
 */
import express, { type ErrorRequestHandler, type Express, type Request, type Response } from 'express';
import type { Clock } from '../../sample-crm/common/clock';
import { controlRouter, type ControlTarget } from '../../sample-crm/common/control';
import { toSerializable } from '../../sample-crm/common/core';
import { FaultRegistry, type Fault, type FaultSpec } from '../../sample-crm/common/faults';
import { listen } from '../../sample-crm/common/server';
import { RequestLog, type LoggedRequest } from '../../sample-crm/common/request-log';
import { emptyState, issueToken, resetState, zoomId, type Consumer, type Engagement, type Recording, type ZoomState } from './state';
import { WebhookSender, ZoomEvents, type DeliveryPlan, type SendResult, type ZoomWebhook } from './webhooks';

export { signZoomWebhook, type ZoomWebhook, type DeliveryPlan, type SendResult } from './webhooks';
export type { ZoomState, Engagement, Recording, Consumer } from './state';

export interface SampleZoomOptions {
  accountId?: string;
  clientId?: string;
  clientSecret?: string;
  /** The app's secret token: signs webhooks. */
  secretToken?: string;
  accessTokenTtlSec?: number;
  clock?: Clock;
}

export const DEFAULT_SAMPLE_ZOOM = {
  accountId: 'sample-account-id',
  clientId: 'sample-zoom-client',
  clientSecret: 'sample-zoom-client-secret',
  secretToken: 'sample-zoom-secret-token',
  accessTokenTtlSec: 3600,
} as const;

const MAX_PAGE_SIZE = 300;

export interface SampleZoom extends ControlTarget {
  readonly app: Express;
  readonly state: ZoomState;
  readonly options: Required<Omit<SampleZoomOptions, 'clock'>>;
  readonly events: ZoomEvents;
  /** Set by the listener: where the API answers (download URLs point here). */
  baseUrl: string;
  addEngagement(e: Partial<Engagement> & { consumer?: Consumer }): Engagement;
  addRecording(r: {
    engagement_id: string;
    recording_id?: string;
    content: Buffer | string;
    transcript?: string;
    recording_end_time?: string;
    recording_duration?: number;
  }): Recording;
  setMessagingTranscript(engagementId: string, text: string): void;
  deliver(events: ZoomWebhook[], plan: DeliveryPlan): Promise<SendResult[]>;
  setConnectionRefuser(refuse: (ms: number) => void): void;
}

export function createSampleZoom(opts: SampleZoomOptions = {}): SampleZoom {
  const clock = opts.clock ?? Date.now;
  const options = {
    accountId: opts.accountId ?? DEFAULT_SAMPLE_ZOOM.accountId,
    clientId: opts.clientId ?? DEFAULT_SAMPLE_ZOOM.clientId,
    clientSecret: opts.clientSecret ?? DEFAULT_SAMPLE_ZOOM.clientSecret,
    secretToken: opts.secretToken ?? DEFAULT_SAMPLE_ZOOM.secretToken,
    accessTokenTtlSec: opts.accessTokenTtlSec ?? DEFAULT_SAMPLE_ZOOM.accessTokenTtlSec,
  };
  const state = emptyState();
  const faults = new FaultRegistry();
  const log = new RequestLog(clock);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const zoom: SampleZoom = {
    app,
    state,
    options,
    baseUrl: 'http://127.0.0.1',
    events: undefined as unknown as ZoomEvents,
    get requests(): LoggedRequest[] {
      return log.entries;
    },
    injectFault: (spec: FaultSpec): Fault => faults.add(spec),
    listFaults: () => faults.list(),
    removeFault: (id) => faults.remove(id),
    clearFaults: () => faults.clear(),
    clearRequests: () => log.clear(),
    snapshot: () => toSerializable(state),
    reset: () => {
      resetState(state);
      log.clear();
      faults.clear();
    },
    expireAllTokens: () => {
      for (const t of Object.values(state.tokens)) t.expiresAtMs = Math.min(t.expiresAtMs, clock() - 1);
    },
    setConnectionRefuser: (refuse) => {
      faults.refuseConnections = refuse;
    },
    addEngagement(e) {
      const engagement: Engagement = {
        engagement_id: e.engagement_id ?? zoomId(),
        channel: e.channel ?? 'voice',
        consumer: e.consumer ?? {},
        ...pick(e, ['queue_id', 'queue_name', 'user_id', 'user_email']),
      };
      state.engagements[engagement.engagement_id] = engagement;
      return engagement;
    },
    addRecording(r) {
      if (!state.engagements[r.engagement_id]) throw new Error(`no engagement ${r.engagement_id}`);
      const end = r.recording_end_time ?? new Date(clock()).toISOString();
      const duration = r.recording_duration ?? 60;
      const rec: Recording = {
        recording_id: r.recording_id ?? zoomId(),
        engagement_id: r.engagement_id,
        recording_start_time: new Date(Date.parse(end) - duration * 1000).toISOString(),
        recording_end_time: end,
        recording_duration: duration,
        bytes: Buffer.isBuffer(r.content) ? r.content : Buffer.from(r.content),
        ...(r.transcript !== undefined ? { transcript: r.transcript } : {}),
      };
      state.recordings[rec.recording_id] = rec;
      return rec;
    },
    setMessagingTranscript(engagementId, text) {
      if (!state.engagements[engagementId]) throw new Error(`no engagement ${engagementId}`);
      state.messagingTranscripts[engagementId] = text;
    },
    deliver: (events, plan) => sender.deliver(events, plan),
  };
  (zoom as { events: ZoomEvents }).events = new ZoomEvents(state, clock, options.accountId, () => zoom.baseUrl);
  const sender = new WebhookSender(state, clock, () => options.secretToken);

  app.use('/__control/zoom', controlZoomRouter(zoom));
  app.use('/__control', controlRouter(zoom));
  app.use(log.middleware());
  app.use(
    faults.middleware((req, fault) => {
      const entry = log.entryFor(req);
      if (entry) entry.faultId = fault.id;
    }),
  );

  app.post('/oauth/token', (req, res) => {
    const m = /^Basic\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    const [id, secret] = m ? Buffer.from(m[1], 'base64').toString('utf8').split(/:(.*)/s) : [];
    if (id !== options.clientId || secret !== options.clientSecret) {
      res.status(401).json({ reason: 'Invalid client_id or client_secret', error: 'invalid_client' });
      return;
    }
    if (req.query.grant_type !== 'account_credentials') {
      res.status(400).json({ reason: 'unsupported grant type', error: 'unsupported_grant_type' });
      return;
    }
    if (req.query.account_id !== options.accountId) {
      res.status(400).json({ reason: 'Invalid account_id', error: 'invalid_request' });
      return;
    }
    const t = issueToken(state, clock, id, options.accountId, options.accessTokenTtlSec);
    res.json({ access_token: t.token, token_type: 'bearer', expires_in: options.accessTokenTtlSec, scope: 'contact_center_recording:read:admin' });
  });

  // Everything under /v2 needs a valid bearer token.
  app.use('/v2', (req, res, next) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    const t = m ? state.tokens[m[1]] : undefined;
    if (!t || t.expiresAtMs <= clock()) {
      res.status(401).json({ code: 124, message: t ? 'Access token is expired.' : 'Invalid access token.' });
      return;
    }
    next();
  });

  app.get('/v2/contact_center/recordings', (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const dateField = q.query_date_type === 'recording_end_time' ? 'recording_end_time' : 'recording_start_time';
    if (q.query_date_type !== undefined && !['recording_start_time', 'recording_end_time'].includes(q.query_date_type)) {
      res.status(400).json({ code: 300, message: `Invalid field: query_date_type` });
      return;
    }
    const from = q.from ? Date.parse(q.from) : clock() - 30 * 86_400_000;
    const to = q.to ? Date.parse(q.to) : clock();
    if (Number.isNaN(from) || Number.isNaN(to) || (q.from && !q.to)) {
      res.status(400).json({ code: 300, message: 'from and to must be ISO 8601 date-times (to is required with from)' });
      return;
    }
    const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, Number(q.page_size ?? 30) || 30));
    let offset = 0;
    if (q.next_page_token) {
      const decoded = /^o(\d+)$/.exec(Buffer.from(q.next_page_token, 'base64url').toString('utf8'));
      if (!decoded) {
        res.status(400).json({ code: 300, message: 'Invalid next_page_token' });
        return;
      }
      offset = Number(decoded[1]);
    }
    const all = Object.values(state.recordings)
      .filter((r) => {
        const t = Date.parse(r[dateField]);
        return t >= from && t <= to;
      })
      .sort((a, b) => Date.parse(a[dateField]) - Date.parse(b[dateField]) || a.recording_id.localeCompare(b.recording_id));
    const page = all.slice(offset, offset + pageSize);
    const next = offset + pageSize < all.length ? Buffer.from(`o${offset + pageSize}`).toString('base64url') : '';
    res.json({
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      page_size: pageSize,
      total_records: all.length,
      next_page_token: next,
      recordings: page.map((r) => listed(zoom, r)),
    });
  });

  const sendFile = (res: Response, body: Buffer | string | undefined, type: string) => {
    if (body === undefined) {
      res.status(404).json({ code: 3301, message: 'File does not exist.' });
      return;
    }
    res.type(type).send(Buffer.isBuffer(body) ? body : Buffer.from(body));
  };
  app.get('/v2/contact_center/recordings/:id/download', (req: Request, res) => sendFile(res, state.recordings[String(req.params.id)]?.bytes, 'audio/mpeg'));
  app.get('/v2/contact_center/recordings/:id/transcript', (req: Request, res) =>
    sendFile(res, state.recordings[String(req.params.id)]?.transcript, 'text/vtt'),
  );
  app.get('/v2/contact_center/engagements/:id/messaging_transcript', (req: Request, res) =>
    sendFile(res, state.messagingTranscripts[String(req.params.id)], 'text/plain'),
  );

  app.use((_req, res) => {
    res.status(404).json({ code: 404, message: 'Not found' });
  });
  const onError: ErrorRequestHandler = (_err, _req, res, _next) => {
    res.status(500).json({ code: 500, message: 'Internal error' });
  };
  app.use(onError);
  return zoom;
}

/** A recording as the list API shows it. */
function listed(zoom: SampleZoom, r: Recording): Record<string, unknown> {
  const e = zoom.state.engagements[r.engagement_id];
  return {
    recording_id: r.recording_id,
    engagement_id: r.engagement_id,
    channel: e?.channel,
    queue_id: e?.queue_id,
    queue_name: e?.queue_name,
    user_id: e?.user_id,
    user_email: e?.user_email,
    consumer_number: e?.consumer.number,
    consumer_name: e?.consumer.name,
    consumer_email: e?.consumer.email,
    recording_type: 'automatic',
    owner_type: 'queue',
    recording_start_time: r.recording_start_time,
    recording_end_time: r.recording_end_time,
    recording_duration: r.recording_duration,
    download_url: zoom.events.recordingDownloadUrl(r.recording_id),
    ...(r.transcript !== undefined ? { transcript_url: zoom.events.recordingTranscriptUrl(r.recording_id) } : {}),
  };
}

/** Webhook kinds the control API can build: `{kind, recording_id | engagement_id, note?, disposition_name?}`. */
function buildEvent(zoom: SampleZoom, spec: Record<string, unknown>): ZoomWebhook {
  const s = (k: string) => (typeof spec[k] === 'string' ? (spec[k] as string) : '');
  switch (spec.kind) {
    case 'recording_completed':
      return zoom.events.recordingCompleted(s('recording_id'));
    case 'recording_transcript_completed':
      return zoom.events.recordingTranscriptCompleted(s('recording_id'));
    case 'engagement_messaging_transcript_completed':
      return zoom.events.messagingTranscriptCompleted(s('engagement_id'));
    case 'engagement_note_added':
      return zoom.events.noteAdded(s('engagement_id'), s('note'), spec.note_id === undefined ? undefined : s('note_id'));
    case 'engagement_disposition_added':
      return zoom.events.dispositionAdded(s('engagement_id'), s('disposition_name'), spec.disposition_id === undefined ? undefined : s('disposition_id'));
    case 'url_validation':
      return zoom.events.urlValidation(s('plainToken') || 'sample-plain-token');
    default:
      throw Object.assign(new Error(`unknown webhook kind ${String(spec.kind)}`), { status: 400 });
  }
}

function controlZoomRouter(zoom: SampleZoom): express.Router {
  const r = express.Router();
  r.use(express.json({ limit: '20mb' }));
  r.post('/engagements', (req, res) => {
    res.status(201).json(zoom.addEngagement(req.body ?? {}));
  });
  r.post('/recordings', (req, res) => {
    const b = req.body ?? {};
    const rec = zoom.addRecording({ ...b, content: typeof b.content_base64 === 'string' ? Buffer.from(b.content_base64, 'base64') : String(b.content ?? '') });
    res.status(201).json(listed(zoom, rec));
  });
  r.post('/messaging_transcripts', (req, res) => {
    zoom.setMessagingTranscript(String(req.body?.engagement_id), String(req.body?.text ?? ''));
    res.status(204).end();
  });
  // {target, events: [{kind, …}], drop?, duplicate?, order?}: builds, signs and sends them.
  r.post('/webhooks', async (req, res) => {
    const b = req.body ?? {};
    if (typeof b.target !== 'string' || !Array.isArray(b.events)) {
      res.status(400).json({ error: 'InvalidRequest', description: 'give target and events' });
      return;
    }
    const events = (b.events as Array<Record<string, unknown>>).map((e) => buildEvent(zoom, e));
    res.json({ results: await zoom.deliver(events, { target: b.target, drop: b.drop, duplicate: b.duplicate, order: b.order }) });
  });
  const onError: ErrorRequestHandler = (err: { status?: number; message?: string }, _req, res, _next) => {
    res.status(err.status ?? 400).json({ error: 'ControlError', description: err.message ?? String(err) });
  };
  r.use(onError);
  return r;
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

export interface RunningSampleZoom {
  url: string;
  port: number;
  zoom: SampleZoom;
  close(): Promise<void>;
}

export async function startSampleZoom(opts: SampleZoomOptions & { port?: number; host?: string } = {}): Promise<RunningSampleZoom> {
  const zoom = createSampleZoom(opts);
  const server = await listen(zoom.app, opts.port ?? 0, opts.host ?? '127.0.0.1');
  zoom.baseUrl = server.url;
  zoom.setConnectionRefuser((ms) => server.refuse(ms));
  return { url: server.url, port: server.port, zoom, close: () => server.close() };
}
