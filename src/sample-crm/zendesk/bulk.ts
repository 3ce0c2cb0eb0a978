/**
 * Zendesk's bulk ticket update, asynchronous as the real API is:
 *
 *   PUT /api/v2/tickets/update_many.json   {"tickets": [{"id": 1, "comment": {…}}, …]}   (≤ 100)
 *     → 200 {"job_status": {"id", "url", "total", "progress": null, "status": "queued", "results": null}}
 *   GET /api/v2/job_statuses/{id}.json
 *     → the job; it runs when first polled, then answers "completed" with one result per ticket:
 *       {"index", "id", "action": "update", "success": true, "status": "Updated"}, or for a ticket
 *       that could not be updated {"index", "id", "error": "TicketUpdateFailed"|"TicketNotFound", "details"}.
 *
 * A malformed request (no tickets, more than 100, a ticket without id) is a 400 and queues nothing.
 */
import express, { type Request, type Router } from 'express';
import { randomBytes } from 'node:crypto';
import { bodyOf, isRecord } from '../common/body';
import { RecordInvalid, RecordNotFound, type ZendeskStore } from './store';

export const MAX_UPDATE_MANY = 100;

interface Job {
  id: string;
  url: string;
  status: 'queued' | 'completed';
  tickets: Array<Record<string, unknown>>;
  results: Array<Record<string, unknown>> | null;
  completedAt?: string;
}

const jobsOf = new WeakMap<ZendeskStore, Map<string, Job>>();

function jobs(store: ZendeskStore): Map<string, Job> {
  let m = jobsOf.get(store);
  if (!m) jobsOf.set(store, (m = new Map()));
  return m;
}

function jobJson(job: Job): Record<string, unknown> {
  const done = job.status === 'completed';
  return {
    job_status: {
      id: job.id,
      url: job.url,
      total: job.tickets.length,
      progress: done ? job.tickets.length : null,
      status: job.status,
      message: done ? `Completed at ${job.completedAt}` : null,
      results: job.results,
    },
  };
}

function run(store: ZendeskStore, job: Job): void {
  job.results = job.tickets.map(({ id, ...change }, index) => {
    try {
      store.updateTicket(Number(id), change);
      return { index, id, action: 'update', success: true, status: 'Updated' };
    } catch (e) {
      if (e instanceof RecordNotFound) return { index, id, error: 'TicketNotFound', details: 'Ticket not found' };
      if (e instanceof RecordInvalid) return { index, id, error: 'TicketUpdateFailed', details: e.message };
      throw e;
    }
  });
  job.status = 'completed';
  job.completedAt = new Date().toISOString();
}

function badRequest(description: string) {
  return { error: 'InvalidValue', description };
}

export function zendeskBulkRouter(store: ZendeskStore): Router {
  const router = express.Router();
  router.put('/api/v2/tickets/update_many{.json}', (req: Request, res) => {
    const body = bodyOf(req);
    const tickets = body.kind === 'json' && isRecord(body.value) ? body.value.tickets : undefined;
    if (!Array.isArray(tickets) || tickets.length === 0) return res.status(400).json(badRequest('param is missing or the value is empty: tickets'));
    if (tickets.length > MAX_UPDATE_MANY) return res.status(400).json(badRequest(`update_many takes at most ${MAX_UPDATE_MANY} tickets`));
    if (!tickets.every((t) => isRecord(t) && /^\d+$/.test(String(t.id)))) return res.status(400).json(badRequest('every ticket needs its id'));
    const id = randomBytes(16).toString('hex');
    const job: Job = { id, url: `${req.protocol}://${req.get('host')}/api/v2/job_statuses/${id}.json`, status: 'queued', tickets, results: null };
    jobs(store).set(id, job);
    res.json(jobJson(job));
  });
  router.get('/api/v2/job_statuses/:id{.json}', (req, res) => {
    const job = jobs(store).get(String(req.params.id));
    if (!job) return res.status(404).json({ error: 'RecordNotFound', description: 'Not found' });
    if (job.status === 'queued') run(store, job);
    res.json(jobJson(job));
  });
  return router;
}
