/** The Zoom-style webhook endpoint and on-demand reconciliation (src/api/routes.ts says who may call them). */
import express, { Router } from 'express';
import { GatewayError } from '../../errors';
import type { ZoomSource } from './source';

/** Webhook bodies are small JSON events; anything larger is refused (413) before it is read further. */
export const MAX_WEBHOOK_BODY = '256kb';
/** The webhook path: read as raw bytes (the signature covers them), never by the JSON parser. */
export const ZOOM_WEBHOOK_PATH = /^\/v1\/connectors\/[^/]+\/webhooks\/zoom$/;

export function zoomRoutes(source: ZoomSource): Router {
  const r = Router({ caseSensitive: true, strict: true });
  r.post('/v1/connectors/:id/webhooks/zoom', express.raw({ type: () => true, limit: MAX_WEBHOOK_BODY }), async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const answer = await source.webhook(String(req.params.id), raw, { signature: req.get('x-zm-signature'), timestamp: req.get('x-zm-request-timestamp') });
    res.status(answer.status).json(answer.body);
  });
  r.post('/v1/connectors/:id/webhooks/zoom/reconcile', async (req, res) => {
    const since = req.query.since;
    let sinceMs: number | undefined;
    if (since !== undefined) {
      sinceMs = typeof since === 'string' && /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(since) ? Date.parse(since) : NaN;
      if (!Number.isFinite(sinceMs))
        throw new GatewayError('validation_failed', 'since must be an ISO 8601 date or date-time, e.g. 2026-01-01T00:00:00Z', {
          errors: [{ field: 'since', message: 'not an ISO 8601 date-time' }],
        });
    }
    res.json(await source.reconcile(String(req.params.id), sinceMs));
  });
  return r;
}
