/**
 * Contract tests as jobs of the API (POST /v1/connectors/{id}/contract-tests): the CLI's runner
 * (src/contract/runner.ts) in this process, against the bundled sample CRM (started on an
 * ephemeral loopback port for the run) or a CRM by URL. Runs are kept in memory, the last
 * MAX_KEPT of them; at most MAX_RUNNING at a time (each one creates objects in a CRM and holds
 * connections), a further start is 429. Results are masked by the gateway's redactor before
 * anyone sees them.
 */
import crypto from 'node:crypto';
import { baseUrlVariable, oauthUrlVariables } from '../contract/cli';
import { junit, type CheckResult } from '../contract/report';
import { runContract } from '../contract/runner';
import { GatewayError } from '../errors';
import type { Gateway } from '../gateway';
import { SsrfGuard } from '../http/ssrf';
import { SAMPLE_CRM_FLAVORS, startSampleCrm, type RunningSampleCrm, type SampleCrmFlavor } from '../sample-crm';

export const MAX_RUNNING = 2;
export const MAX_KEPT = 20;
const MAX_URL_LENGTH = 2048;

export interface CheckView {
  name: string;
  ok: boolean;
  outcome: CheckResult['outcome'];
  operation: string;
  request: string;
  status: string;
  ms: number;
  detail?: string;
  /** The YAML line the failure points at, when the runner named one. */
  line?: number;
}

export interface RunView {
  id: string;
  connector: string;
  target: 'sample' | 'config';
  state: 'running' | 'passed' | 'failed';
  checks: CheckView[];
  started_at: string;
  finished_at?: string;
}

type Listener = (event: 'check' | 'done', data: unknown) => void;

interface Run {
  view: RunView;
  results: CheckResult[];
  listeners: Set<Listener>;
  /** Settles when the run has finished and its sample CRM is closed. */
  finished?: Promise<void>;
  /** Stops the run's further checks (shutdown). */
  abort: AbortController;
}

export interface StartRequest {
  target: 'sample' | 'config';
  baseUrl?: string;
  flavor?: SampleCrmFlavor;
}

/** `{target, base_url?, flavor?}` checked, naming the field at fault. */
export function startRequest(body: unknown): StartRequest {
  const b = (body ?? {}) as Record<string, unknown>;
  const fail = (field: string, message: string): never => {
    throw new GatewayError('validation_failed', `${field}: ${message}`, { errors: [{ field, message }] });
  };
  if (typeof b !== 'object' || Array.isArray(b)) fail('(body)', 'must be an object {target, base_url?}');
  const unknown = Object.keys(b).filter((k) => !['target', 'base_url', 'flavor'].includes(k));
  if (unknown.length) fail(unknown[0].slice(0, 100), 'unknown member (known: target, base_url, flavor)');
  if (b.target !== 'sample' && b.target !== 'config') fail('target', '"sample" (the bundled sample CRM) or "config" (the CRM the file or base_url names)');
  const target = b.target as 'sample' | 'config';
  let baseUrl: string | undefined;
  if (b.base_url !== undefined) {
    if (target === 'sample') fail('base_url', 'only with target "config"');
    if (typeof b.base_url !== 'string' || b.base_url.length > MAX_URL_LENGTH) fail('base_url', `an http(s) URL of at most ${MAX_URL_LENGTH} characters`);
    let u: URL | undefined;
    try {
      u = new URL(b.base_url as string);
    } catch {
      /* answered below */
    }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password) fail('base_url', 'an http(s) URL without credentials');
    baseUrl = b.base_url as string;
  }
  let flavor: SampleCrmFlavor | undefined;
  if (b.flavor !== undefined) {
    if (target !== 'sample' || !(SAMPLE_CRM_FLAVORS as unknown[]).includes(b.flavor))
      fail('flavor', `with target "sample": one of ${SAMPLE_CRM_FLAVORS.join(', ')}`);
    flavor = b.flavor as SampleCrmFlavor;
  }
  return { target, baseUrl, flavor };
}

/** The runner's messages point at the YAML as "(endpoints.x at file.yaml:12)" or "… near line 12". */
const LINE = /(?: at [^\s()]+\.ya?ml:|near line )(\d+)/;

function checkView(r: CheckResult): CheckView {
  const line = r.message ? LINE.exec(r.message)?.[1] : undefined;
  return {
    name: r.name,
    ok: r.outcome !== 'fail',
    outcome: r.outcome,
    operation: r.operation,
    request: r.request,
    status: r.status,
    ms: Math.round(r.ms),
    ...(r.message ? { detail: r.message } : {}),
    ...(line ? { line: Number(line) } : {}),
  };
}

export class ContractRuns {
  private readonly runs = new Map<string, Run>();
  private closing = false;

  constructor(private readonly gw: Gateway) {}

  private get running(): number {
    return [...this.runs.values()].filter((r) => r.view.state === 'running').length;
  }

  /** Starts a run; the checks then arrive through get() and subscribe(). */
  start(connectorId: string, req: StartRequest): RunView {
    const gw = this.gw;
    const c = gw.connector(connectorId);
    const file = gw.entry(connectorId).file;
    const flavor = req.target === 'sample' ? (req.flavor ?? sampleFlavorOf(connectorId, file)) : undefined;
    if (req.target === 'sample' && !flavor) {
      throw new GatewayError('validation_failed', `flavor: no sample CRM is named like "${connectorId}"; give one of ${SAMPLE_CRM_FLAVORS.join(', ')}`, {
        errors: [{ field: 'flavor', message: 'required for this connector' }],
      });
    }
    let urlVariable: string | undefined;
    try {
      urlVariable = req.target === 'sample' || req.baseUrl ? baseUrlVariable(file) : undefined;
    } catch {
      throw new GatewayError('conflict', "the connector's file cannot be read any more (removed?); reload the connector and try again");
    }
    if ((req.target === 'sample' || req.baseUrl) && !urlVariable) {
      throw new GatewayError('validation_failed', "the connector's base_url is not written as ${env:NAME…}, so the run cannot point it elsewhere", {
        errors: [{ field: req.baseUrl ? 'base_url' : 'target', message: 'base_url is not an ${env:…} placeholder' }],
      });
    }
    if (req.baseUrl) {
      // Where the checks will send the connector's credentials: the connector's own guard decides, as for any CRM URL.
      try {
        new SsrfGuard(c.network, gw.listen).checkUrl(new URL(req.baseUrl));
      } catch (e) {
        throw new GatewayError('validation_failed', `base_url: ${(e as Error).message}`, { errors: [{ field: 'base_url', message: (e as Error).message }] });
      }
    }
    if (this.closing) throw new GatewayError('shutting_down', 'the gateway is stopping; start the contract test on another instance or once it is back');
    if (this.running >= MAX_RUNNING) {
      throw new GatewayError('too_many_requests', `${MAX_RUNNING} contract tests are running already; start this one when one has finished`);
    }
    const view: RunView = {
      id: crypto.randomUUID(),
      connector: connectorId,
      target: req.target,
      state: 'running',
      checks: [],
      started_at: new Date(gw.now()).toISOString(),
    };
    const run: Run = { view, results: [], listeners: new Set(), abort: new AbortController() };
    this.runs.set(view.id, run);
    this.forgetOld();
    const record = (r: CheckResult) => {
      if (view.finished_at) return; // ended by close(): its report is final
      const masked = gw.redactor.redactDeep({ ...r });
      run.results.push(masked);
      const check = checkView(masked);
      view.checks.push(check);
      for (const l of run.listeners) l('check', check);
    };
    run.finished = (async () => {
      let sample: RunningSampleCrm | undefined;
      let state: 'passed' | 'failed' = 'failed';
      try {
        const env: NodeJS.ProcessEnv = { ...gw.env };
        if (flavor) {
          sample = (await startSampleCrm({ flavor, port: 0, host: '127.0.0.1' })) as RunningSampleCrm;
          // A sample CRM also plays the CRM's OAuth server.
          for (const n of new Set([urlVariable!, ...oauthUrlVariables(file)])) env[n] = sample.url;
        } else if (req.baseUrl) env[urlVariable!] = req.baseUrl;
        const report = await runContract({ file, env, sample: sample?.crm as never, onResult: record, listen: gw.listen, signal: run.abort.signal });
        state = report.ok ? 'passed' : 'failed';
      } catch (e) {
        record({ name: 'contract test run', operation: 'run', request: '-', status: 'error', outcome: 'fail', ms: 0, message: (e as Error).message });
      } finally {
        await sample?.close().catch(() => undefined);
        this.finish(run, state);
      }
    })();
    return view;
  }

  /**
   * The gateway is stopping: no run starts any more, and the runs in flight get up to `graceMs`
   * to finish (each one is bounded by its connector's timeouts). One still going then ends
   * `failed` with a check that says so, and its watchers get `done`, rather than a stream that
   * just breaks; the process exits under it.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    const inFlight = [...this.runs.values()].filter((r) => r.view.state === 'running');
    if (!inFlight.length) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(inFlight.map((r) => r.finished)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
    for (const r of inFlight) {
      if (r.view.state !== 'running') continue;
      r.abort.abort();
      const stopped = { name: 'contract test run', operation: 'run', request: '-', status: 'stopped', outcome: 'fail' as const, ms: 0 };
      const message = `the gateway stopped before the run finished (after the ${Math.round(graceMs / 1000)} s shutdown grace); run it again`;
      const check = checkView({ ...stopped, message });
      r.results.push({ ...stopped, message });
      r.view.checks.push(check);
      for (const l of r.listeners) l('check', check);
      this.finish(r, 'failed');
    }
  }

  /** Once per run: its final state, and `done` to its watchers. */
  private finish(run: Run, state: 'passed' | 'failed'): void {
    if (run.view.finished_at) return;
    run.view.state = state;
    run.view.finished_at = new Date(this.gw.now()).toISOString();
    for (const l of run.listeners) l('done', { id: run.view.id, state: run.view.state, finished_at: run.view.finished_at });
    run.listeners.clear();
  }

  get(id: string): RunView {
    return this.run(id).view;
  }

  junit(id: string): string {
    const r = this.run(id);
    if (r.view.state === 'running') throw new GatewayError('conflict', `contract test ${id} is still running; the report is ready when it has finished`);
    // The CLI's JUnit writer, on the masked results.
    return junit(`contract.${r.view.connector}`, r.results);
  }

  /**
   * Sends every check so far, then each new one, then `done`; returns the unsubscribe. A run
   * that has finished sends its checks and `done` at once.
   */
  subscribe(id: string, listener: Listener): () => void {
    const r = this.run(id);
    for (const c of r.view.checks) listener('check', c);
    if (r.view.state !== 'running') {
      listener('done', { id: r.view.id, state: r.view.state, finished_at: r.view.finished_at });
      return () => undefined;
    }
    r.listeners.add(listener);
    return () => r.listeners.delete(listener);
  }

  private run(id: string): Run {
    const r = this.runs.get(id);
    if (!r) throw new GatewayError('not_found', `no contract test ${id.slice(0, 100)} (the last ${MAX_KEPT} are kept)`);
    return r;
  }

  /** Keeps the newest MAX_KEPT runs; a running one is never dropped (at most MAX_RUNNING are). */
  private forgetOld(): void {
    for (const [id, r] of this.runs) {
      if (this.runs.size <= MAX_KEPT) break;
      if (r.view.state !== 'running') this.runs.delete(id);
    }
  }
}

/** The bundled sample CRM a connector is written for, by its id or file name (zendesk.yaml → zendesk). */
export function sampleFlavorOf(id: string, file: string): SampleCrmFlavor | undefined {
  const base = file.replace(/^.*[\\/]/, '').replace(/\.ya?ml$/i, '');
  return SAMPLE_CRM_FLAVORS.find((f) => f === id || f === base);
}
