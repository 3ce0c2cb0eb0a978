/**
 * The routes the integrator console needs beyond the operations and delivery API: who the key
 * is, the connectors it may see (with the YAML for admins), validating and saving a connector
 * file, the variables of each operation, and contract tests as jobs. The route table
 * (routes.ts) has already refused keys outside their scope; the handlers narrow what a key sees
 * (its connectors only, the YAML for admins only).
 */
import fs from 'node:fs';
import { Router } from 'express';
import { mayUse, type Principal } from '../access/api-keys';
import type { Gateway } from '../gateway';
import { maskedText, saveText, validateText, versionOf, yamlOf } from './config-edit';
import { connectorSummary } from './connector-view';
import { ContractRuns, startRequest } from './contract-runs';
import { operationVariables } from './operation-variables';

const isAdmin = (p: Principal | undefined) => !p || p.admin;

export function consoleRoutes(gw: Gateway, runs: ContractRuns = new ContractRuns(gw)): Router {
  const r = Router({ caseSensitive: true, strict: true });

  r.get('/v1/me', (_req, res) => {
    const p = res.locals.principal as Principal | undefined;
    res.json({ admin: isAdmin(p), connectors: !p || p.admin || !p.connectors ? '*' : [...p.connectors].sort() });
  });

  r.get('/v1/connectors', async (_req, res) => {
    const p = res.locals.principal as Principal | undefined;
    const visible = gw.list().filter((l) => mayUse(p, l.id));
    res.json(gw.redactor.redactDeep({ connectors: await Promise.all(visible.map((l) => connectorSummary(gw, l))) }));
  });

  r.get('/v1/connectors/:id', async (req, res) => {
    const l = gw.entry(String(req.params.id));
    const c = l.connector;
    const view = {
      ...(await connectorSummary(gw, l)),
      ...(c ? { phone: c.phone, timeout_ms: c.timeoutMs, config: c.source } : {}),
    };
    // The file's text, for the editor of admin keys (the keys that may save it): ${env:…}
    // placeholders as written, any secret in it masked (a save restores masked lines).
    let file: string | undefined;
    if (isAdmin(res.locals.principal as Principal | undefined)) {
      try {
        file = fs.readFileSync(l.file, 'utf8');
      } catch {
        /* removed since it was loaded: the view says what is loaded, without the text */
      }
    }
    res.json({ ...gw.redactor.redactDeep(view), ...(file !== undefined ? { yaml: maskedText(gw, file), sha256: versionOf(file) } : {}) });
  });

  r.get('/v1/connectors/:id/operations', (req, res) => {
    res.json({ operations: operationVariables(gw.connector(String(req.params.id))) });
  });

  r.post('/v1/connectors/:id/validate', (req, res) => {
    res.json(validateText(gw, String(req.params.id), yamlOf(req.body), isAdmin(res.locals.principal as Principal | undefined)));
  });

  r.put('/v1/connectors/:id/config', (req, res) => {
    const id = String(req.params.id);
    res.json(saveText(gw, id, yamlOf(req.body), (req.body as { base_sha256?: unknown } | null)?.base_sha256));
  });

  r.post('/v1/connectors/:id/contract-tests', (req, res) => {
    const run = runs.start(String(req.params.id), startRequest(req.body));
    res.status(202).set('Location', `/v1/contract-tests/${run.id}`).json({ id: run.id });
  });

  r.get('/v1/contract-tests/:runId', (req, res) => {
    res.json(runs.get(String(req.params.runId)));
  });

  r.get('/v1/contract-tests/:runId/junit', (req, res) => {
    res.type('application/xml; charset=utf-8').send(runs.junit(String(req.params.runId)));
  });

  r.get('/v1/contract-tests/:runId/events', (req, res) => {
    const id = String(req.params.runId);
    runs.get(id); // an unknown run is a 404 problem, before the stream starts
    res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
    // HEAD: the headers of the stream, not a wait for the run.
    if (req.method === 'HEAD') return void res.end();
    res.flushHeaders();
    const unsubscribe = runs.subscribe(id, (event, data) => {
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      if (event === 'done') res.end();
    });
    res.on('close', unsubscribe);
  });

  return r;
}
