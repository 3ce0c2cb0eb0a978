/** Platform events in, session state out (session flows). */
import express, { Router } from 'express';
import { lenientJson } from '../flows/events';
import type { FlowEngine } from '../flows/engine';

export function sessionRoutes(flows: FlowEngine, limit: string): Router {
  const r = Router();
  r.post('/v1/connectors/:id/sessions/:sessionId/events', express.text({ type: () => true, limit }), async (req, res) => {
    const text = typeof req.body === 'string' ? req.body : '';
    const typeHint = typeof req.query.type === 'string' ? req.query.type : undefined;
    const outcome = await flows.handle(String(req.params.id), String(req.params.sessionId), lenientJson(text || '{}'), typeHint);
    res.status(outcome.duplicate ? 200 : 202).json(outcome);
  });
  r.get('/v1/connectors/:id/sessions/:sessionId', async (req, res) => {
    res.json(await flows.view(String(req.params.id), String(req.params.sessionId)));
  });
  return r;
}
