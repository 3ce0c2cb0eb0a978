/**
 * Prometheus metrics (prom-client), one registry per gateway so tests and several gateways in
 * one process do not mix. CRM calls are observed where they happen (operations/call.ts via
 * the `observe` hook); delivery counts are read from the store at scrape time.
 */
import client from 'prom-client';
import type { DeliveryStore } from '../delivery/store';

export class Metrics {
  readonly registry = new client.Registry();
  readonly crmCalls: client.Histogram<'connector' | 'operation' | 'outcome'>;
  readonly retries: client.Counter<'connector' | 'operation'>;
  readonly deadLetters: client.Counter<'connector' | 'operation'>;
  readonly tokenRefreshes: client.Counter<'connector' | 'grant' | 'result'>;
  readonly httpRequests: client.Histogram<'method' | 'route' | 'status'>;
  readonly rateLimitWait: client.Histogram<'connector'>;
  readonly rateLimitThrottled: client.Counter<'connector' | 'source'>;
  /** Paced connectors' limiters, read at scrape time for the queue gauge (serve sets it). */
  pacedQueues?: () => ReadonlyMap<string, { snapshot(): { queued: number } }>;

  constructor(store?: DeliveryStore) {
    // prom-client's own names already start with process_/nodejs_: the prefix only namespaces them.
    client.collectDefaultMetrics({ register: this.registry, prefix: 'crm_gateway_' });
    this.crmCalls = new client.Histogram({
      name: 'crm_gateway_crm_call_duration_seconds',
      help: 'CRM call latency by connector, operation and outcome (ok, not_found, retry, fail)',
      labelNames: ['connector', 'operation', 'outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.retries = new client.Counter({
      name: 'crm_gateway_delivery_retries_total',
      help: 'Delivery attempts that ended in a scheduled retry',
      labelNames: ['connector', 'operation'],
      registers: [this.registry],
    });
    this.deadLetters = new client.Counter({
      name: 'crm_gateway_dead_letters_total',
      help: 'Deliveries that became dead',
      labelNames: ['connector', 'operation'],
      registers: [this.registry],
    });
    this.tokenRefreshes = new client.Counter({
      name: 'crm_gateway_oauth_token_requests_total',
      help: 'OAuth token requests (fetch or refresh) by grant and result',
      labelNames: ['connector', 'grant', 'result'],
      registers: [this.registry],
    });
    this.httpRequests = new client.Histogram({
      name: 'crm_gateway_http_request_duration_seconds',
      help: 'API requests by method, route pattern (unmatched for paths no route knows) and status; _count is the request count',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.rateLimitWait = new client.Histogram({
      name: 'crm_gateway_rate_limit_wait_seconds',
      help: "Time a CRM call waited for a slot of its connector's rate_limit (0 when none)",
      labelNames: ['connector'],
      buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.rateLimitThrottled = new client.Counter({
      name: 'crm_gateway_rate_limit_throttled_total',
      help: "CRM calls that waited for the rate limit, by why: budget (the connector's rate_limit), retry_after (the CRM's 429 pause), remaining (the CRM's headers said slow down)",
      labelNames: ['connector', 'source'],
      registers: [this.registry],
    });
    const metrics = this;
    new client.Gauge({
      name: 'crm_gateway_rate_limit_queue',
      help: "CRM calls waiting for a slot of their connector's rate_limit in this process",
      labelNames: ['connector'],
      registers: [this.registry],
      collect() {
        // Only the connectors paced now: one whose rate_limit was removed leaves the gauge.
        this.reset();
        for (const [connector, l] of metrics.pacedQueues?.() ?? []) this.set({ connector }, l.snapshot().queued);
      },
    });
    if (store) {
      const registry = this.registry;
      new client.Gauge({
        name: 'crm_gateway_deliveries',
        help: 'Durable writes by status',
        labelNames: ['status'],
        registers: [registry],
        async collect() {
          const counts = await store.counts().catch(() => undefined);
          if (counts) for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
        },
      });
      // Sessions whose writes wait (README "Customer identity from adapter events"); read at scrape time.
      let waiting: Promise<Awaited<ReturnType<DeliveryStore['waitingCounts']>> | undefined> | undefined;
      const readWaiting = () =>
        (waiting ??= store
          .waitingCounts()
          .catch(() => undefined)
          .finally(() => {
            waiting = undefined;
          }));
      new client.Gauge({
        name: 'crm_gateway_sessions_waiting',
        help: 'Sessions whose writes wait, by connector and what for (customer_identity, agent)',
        labelNames: ['connector', 'waiting_for'],
        registers: [registry],
        async collect() {
          const rows = await readWaiting();
          if (!rows) return;
          this.reset();
          for (const r of rows) this.set({ connector: r.connectorId, waiting_for: r.waitingFor }, r.sessions);
        },
      });
      new client.Gauge({
        name: 'crm_gateway_sessions_unidentified',
        help: 'Sessions still without customer identity after events.unidentified_after_seconds (their writes are held, not lost)',
        labelNames: ['connector'],
        registers: [registry],
        async collect() {
          const rows = await readWaiting();
          if (!rows) return;
          this.reset();
          for (const r of rows) if (r.waitingFor === 'customer_identity') this.set({ connector: r.connectorId }, r.unidentified);
        },
      });
    }
  }

  observeCall(connector: string, operation: string, outcome: string, ms: number): void {
    this.crmCalls.observe({ connector, operation, outcome }, ms / 1000);
  }

  observeHttp(method: string, route: string, status: number, ms: number): void {
    // Methods no route serves collapse to OTHER, so a flood of invented verbs adds no series.
    const m = method === 'GET' || method === 'POST' || method === 'HEAD' ? method : 'OTHER';
    this.httpRequests.observe({ method: m, route, status: String(status) }, ms / 1000);
  }
}
