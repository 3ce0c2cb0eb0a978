/** /v1/deliveries: what happened to every durable write, and the controls (replay, cancel). */
import { Router } from 'express';
import type { DeliveryService } from '../delivery/service';
import { GatewayError } from '../errors';
import { mayUse, type Principal } from '../access/api-keys';

/** The deliveries of one session (its steps), or [] when there is no such session: the `session` filter. */
export type SessionDeliveries = (connectorId: string, sessionId: string) => Promise<string[]>;

export function deliveryRoutes(service: DeliveryService, sessionDeliveries?: SessionDeliveries): Router {
  const r = Router({ caseSensitive: true, strict: true });
  r.get('/v1/deliveries', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const principal = res.locals.principal as Principal | undefined;
    if (principal && !principal.admin && principal.connectors && (typeof q.connector !== 'string' || !mayUse(principal, q.connector))) {
      throw new GatewayError(
        'forbidden',
        `this key may list deliveries of its connectors only: add ?connector= (one of ${[...principal.connectors].join(', ')})`,
      );
    }
    let ids: string[] | undefined;
    if (q.session !== undefined) {
      if (typeof q.session !== 'string' || q.session.length > 200 || typeof q.connector !== 'string')
        throw new GatewayError('validation_failed', 'session: one session id (at most 200 characters), with connector=', {
          errors: [{ field: 'session', message: 'one session id, with connector' }],
        });
      // Without session flows no delivery belongs to a session.
      ids = sessionDeliveries ? await sessionDeliveries(q.connector, q.session) : [];
    }
    const list = await service.list({ status: q.status, connector: q.connector, limit: q.limit, before: q.before, since: q.since, until: q.until }, ids);
    const limit = Number(q.limit ?? 100);
    res.json({ deliveries: list.map((d) => service.view(d)), next_before: list.length === limit ? list.at(-1)!.seq : null });
  });
  r.get('/v1/deliveries/:id', async (req, res) => {
    const id = String(req.params.id);
    const d = await service.get(id);
    if (!mayUse(res.locals.principal as Principal | undefined, d.connectorId)) throw new GatewayError('not_found', `no delivery ${id}`);
    res.json(service.view(d, await service.history(id)));
  });
  r.post('/v1/deliveries/:id/retry', async (req, res) => {
    res.json(service.view(await service.retry(String(req.params.id))));
  });
  r.post('/v1/deliveries/:id/cancel', async (req, res) => {
    res.json(service.view(await service.cancel(String(req.params.id))));
  });
  // An operator settles an unknown_outcome delivery: retry_as_new, attach (ids) or cancel.
  r.post('/v1/deliveries/:id/resolve', async (req, res) => {
    // Settling what a CRM holds is an operator's decision, like replay and cancel: admin keys only (src/api/routes.ts).
    res.json(service.view(await service.resolve(String(req.params.id), req.body)));
  });
  return r;
}
