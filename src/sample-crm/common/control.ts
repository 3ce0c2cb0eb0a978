import express, { type ErrorRequestHandler, type Router } from 'express';
import { isRecord } from './body';
import { FaultSpecError, parseFaultSpec, type Fault, type FaultSpec } from './faults';
import type { LoggedRequest } from './request-log';

/** What the control API needs from a running emulator, whatever its flavour. */
export interface ControlTarget {
  injectFault(spec: FaultSpec): Fault;
  listFaults(): Fault[];
  removeFault(id: string): boolean;
  clearFaults(): void;
  readonly requests: LoggedRequest[];
  clearRequests(): void;
  snapshot(): unknown;
  reset(): void;
  expireAllTokens(options?: { includeRefreshTokens?: boolean }): void;
}

/**
 * /__control: test and QA hooks. Mounted before logging, faults and auth, so it is never
 * logged, never faulted and needs no credentials.
 */
export function controlRouter(target: ControlTarget): Router {
  const router = express.Router();
  router.use(express.json({ limit: '1mb' }));

  router.get('/faults', (_req, res) => {
    res.json({ faults: target.listFaults() });
  });
  router.post('/faults', (req, res) => {
    let spec: FaultSpec;
    try {
      spec = parseFaultSpec(req.body);
    } catch (err) {
      if (err instanceof FaultSpecError) {
        res.status(400).json({ error: 'InvalidFault', description: err.message });
        return;
      }
      throw err;
    }
    const fault = target.injectFault(spec);
    res.status(201).json({ id: fault.id, fault });
  });
  router.delete('/faults', (_req, res) => {
    target.clearFaults();
    res.status(204).end();
  });
  router.delete('/faults/:id', (req, res) => {
    if (target.removeFault(req.params.id)) res.status(204).end();
    else res.status(404).json({ error: 'NotFound', description: `no fault ${req.params.id}` });
  });

  router.get('/requests', (_req, res) => {
    res.json({ requests: target.requests });
  });
  router.delete('/requests', (_req, res) => {
    target.clearRequests();
    res.status(204).end();
  });

  router.get('/state', (_req, res) => {
    res.json(target.snapshot());
  });
  router.post('/reset', (_req, res) => {
    target.reset();
    res.status(204).end();
  });
  router.post('/tokens/expire', (req, res) => {
    const includeRefreshTokens = isRecord(req.body) && req.body.includeRefreshTokens === true;
    target.expireAllTokens({ includeRefreshTokens });
    res.status(204).end();
  });

  router.use((_req, res) => {
    res.status(404).json({ error: 'NotFound', description: 'unknown control endpoint' });
  });
  const onError: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    const status = isRecord(err) && typeof err.status === 'number' ? err.status : 500;
    res.status(status).json({ error: 'ControlError', description: err instanceof Error ? err.message : String(err) });
  };
  router.use(onError);
  return router;
}
