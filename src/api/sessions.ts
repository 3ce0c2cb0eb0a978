/** Platform events in, session state out (session flows). */
import express, { Router } from 'express';
import { lenientJson, normalizeEvent } from '../flows/events';
import { GatewayError, isGatewayError } from '../errors';
import type { FlowEngine } from '../flows/engine';
import type { Gateway } from '../gateway';
import { checkHeaderVariables } from './header-values';
import { checkUrlVariables } from './url-values';
import { checkJsonShape, checkWellFormed } from './input-bounds';
import { sessionTimeline, type DeliveryReader } from './session-timeline';
import type { DeliveryStore, SessionSummary } from '../delivery/store';

const iso = (ms: number) => new Date(ms).toISOString();

function sessionListItem(s: SessionSummary) {
  const state = s.endedAt !== undefined ? 'ended' : s.unidentifiedAt !== undefined ? 'unidentified' : s.waitingFor ? 'waiting' : 'active';
  return {
    id: s.sessionId,
    state,
    started_at: iso(s.createdAt),
    updated_at: iso(s.updatedAt),
    ...(s.endedAt !== undefined ? { ended_at: iso(s.endedAt) } : {}),
    ...(s.waitingFor ? { waiting_for: s.waitingFor } : {}),
  };
}

export function sessionRoutes(
  flows: FlowEngine,
  limit: string,
  gw?: Gateway,
  deliveries?: DeliveryReader,
  store?: Pick<DeliveryStore, 'recentSessions'>,
): Router {
  const r = Router({ caseSensitive: true, strict: true });
  // The console's session list: the connector's most recently updated sessions, from columns only.
  r.get('/v1/connectors/:id/sessions', async (req, res) => {
    const id = String(req.params.id);
    gw?.connector(id);
    const raw = req.query.limit;
    const n = raw === undefined ? 20 : typeof raw === 'string' && /^\d{1,3}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(n >= 1 && n <= 100))
      throw new GatewayError('validation_failed', 'limit must be an integer from 1 to 100', { errors: [{ field: 'limit', message: 'out of range' }] });
    const list = store ? await store.recentSessions(id, n) : [];
    res.json({ sessions: list.map(sessionListItem) });
  });
  r.post('/v1/connectors/:id/sessions/:sessionId/events', express.text({ type: () => true, limit }), async (req, res) => {
    const text = typeof req.body === 'string' ? req.body : '';
    const typeHint = typeof req.query.type === 'string' ? req.query.type : undefined;
    const connectorId = String(req.params.id);
    // An unknown or invalid connector is answered first, as for operations.
    const connector = gw?.connector(connectorId);
    // Checked at the door, so nothing is stored or queued that cannot be kept, shown or sent.
    checkJsonShape(text);
    const body = lenientJson(text || '{}');
    checkWellFormed(body, '');
    if (connector) {
      const { vars } = normalizeEvent(body, typeHint);
      checkHeaderVariables(connector, undefined, vars, '');
      checkUrlVariables(connector, undefined, vars, '');
    }
    const outcome = await flows.handle(connectorId, String(req.params.sessionId), body, typeHint).catch((e: unknown) => {
      // The store could not take the event: nothing was accepted, the platform should resend it.
      if (isGatewayError(e)) throw e;
      throw new GatewayError('store_unavailable', 'the event could not be stored; nothing was accepted, send it again', {}, { cause: e });
    });
    res.status(outcome.duplicate ? 200 : 202).json(outcome);
  });
  r.get('/v1/connectors/:id/sessions/:sessionId', async (req, res) => {
    const view = await flows.view(String(req.params.id), String(req.params.sessionId));
    // What happened when, for the console's session screen (masked as the view is).
    const timeline = deliveries ? await sessionTimeline(view, deliveries) : undefined;
    res.json(timeline ? { ...view, timeline: gw ? gw.redactor.redactDeep(timeline) : timeline } : view);
  });
  return r;
}
