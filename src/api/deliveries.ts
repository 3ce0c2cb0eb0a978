/** /v1/deliveries: what happened to every durable write, and the controls (replay, cancel). */
import { Router } from 'express';
import { deliveryView, type DeliveryService } from '../delivery/service';

export function deliveryRoutes(service: DeliveryService): Router {
  const r = Router();
  r.get('/v1/deliveries', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const list = await service.list({ status: q.status, connector: q.connector, limit: q.limit, before: q.before });
    const limit = Number(q.limit ?? 100);
    res.json({ deliveries: list.map((d) => deliveryView(d)), next_before: list.length === limit ? list.at(-1)!.seq : null });
  });
  r.get('/v1/deliveries/:id', async (req, res) => {
    const id = String(req.params.id);
    const d = await service.get(id);
    res.json(deliveryView(d, await service.history(id)));
  });
  r.post('/v1/deliveries/:id/retry', async (req, res) => {
    res.json(deliveryView(await service.retry(String(req.params.id))));
  });
  r.post('/v1/deliveries/:id/cancel', async (req, res) => {
    res.json(deliveryView(await service.cancel(String(req.params.id))));
  });
  return r;
}
