/**
 * OpenTelemetry traces, off by default: a span per API request (SERVER) and per outbound HTTP
 * call (CLIENT: CRM calls, file downloads, pushed screen pops), W3C `traceparent` accepted on
 * requests and sent on to the CRM, so a platform's trace continues through the gateway into
 * the CRM's logs.
 *
 * Configured by the standard variables, read from the gateway's environment:
 *   OTEL_TRACES_EXPORTER            otlp | console | none (tracing is on when this is otlp or
 *                                   console, or when an OTLP endpoint is set)
 *   OTEL_EXPORTER_OTLP_ENDPOINT     base URL; traces go to <base>/v1/traces
 *   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT  the full traces URL (wins over the base)
 *   OTEL_EXPORTER_OTLP_HEADERS      k=v,k2=v2 (e.g. an API key of the collector)
 *   OTEL_SERVICE_NAME               default crm-gateway
 *   OTEL_SDK_DISABLED=true          off whatever else is set
 *
 * When off, the hot path pays one boolean check: nothing is started or wrapped.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchSpanProcessor, ConsoleSpanExporter, NodeTracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace-node';
import { resourceFromAttributes } from '@opentelemetry/resources';

let provider: NodeTracerProvider | undefined;
let users = 0;

/** True while a gateway in this process has tracing on. */
export function tracingOn(): boolean {
  return provider !== undefined;
}

function wanted(env: NodeJS.ProcessEnv): 'otlp' | 'console' | undefined {
  if (String(env.OTEL_SDK_DISABLED).toLowerCase() === 'true') return undefined;
  const exporter = (env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase();
  if (exporter === 'none') return undefined;
  if (exporter === 'console') return 'console';
  if (exporter === 'otlp' || env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return 'otlp';
  return undefined;
}

function headersOf(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[decodeURIComponent(pair.slice(0, eq).trim())] = decodeURIComponent(pair.slice(eq + 1).trim());
  }
  return out;
}

/**
 * Starts tracing when the environment asks for it; the returned stop flushes what is buffered.
 * One provider per process (OpenTelemetry's API is global); several gateways in one process share it.
 */
export function startTracing(env: NodeJS.ProcessEnv): (() => Promise<void>) | undefined {
  const kind = wanted(env);
  if (!kind) return undefined;
  if (!provider) {
    const base = (env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318').replace(/\/+$/, '');
    const exporter: SpanExporter =
      kind === 'console'
        ? new ConsoleSpanExporter()
        : new OTLPTraceExporter({ url: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${base}/v1/traces`, headers: headersOf(env.OTEL_EXPORTER_OTLP_HEADERS) });
    provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME ?? 'crm-gateway' }),
      spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })],
    });
    // Registers the W3C trace-context propagator and an AsyncLocalStorage context manager.
    provider.register();
  }
  users++;
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    const p = provider;
    if (--users > 0 || !p) {
      await p?.forceFlush();
      return;
    }
    provider = undefined;
    await p.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  };
}

const tracer = () => trace.getTracer('crm-gateway');

/**
 * Runs an API request inside its SERVER span, continuing the caller's trace when it sent a
 * `traceparent`. The request and response emitters are bound to the span's context so that
 * handlers called from stream events (body parsing) still see it.
 */
export function withRequestSpan(req: IncomingMessage, res: ServerResponse, route: string | undefined, run: () => void): void {
  const parent = propagation.extract(context.active(), req.headers);
  const span = tracer().startSpan(
    `${req.method} ${route ?? 'unmatched'}`,
    {
      kind: SpanKind.SERVER,
      // The route pattern, not the path: paths carry session ids the collector need not see.
      attributes: { 'http.request.method': req.method ?? '', 'http.route': route ?? 'unmatched' },
    },
    parent,
  );
  res.once('finish', () => {
    span.setAttribute('http.response.status_code', res.statusCode);
    const requestId = res.getHeader('x-request-id');
    if (requestId) span.setAttribute('crm_gateway.request_id', String(requestId));
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  const ctx = trace.setSpan(parent, span);
  context.bind(ctx, req);
  context.bind(ctx, res);
  context.with(ctx, run);
}

/**
 * An outbound call inside its CLIENT span, with `traceparent` added to the headers.
 */
export async function withClientSpan<T extends { status: number }>(
  method: string,
  url: URL,
  headers: Record<string, string>,
  call: (headers: Record<string, string>) => Promise<T>,
): Promise<T> {
  const span: Span = tracer().startSpan(`${method}`, {
    kind: SpanKind.CLIENT,
    // Host and port only: CRM paths and queries may carry phone numbers, e-mails or tokens.
    attributes: { 'http.request.method': method, 'server.address': url.hostname, 'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80) },
  });
  const carrier: Record<string, string> = { ...headers };
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  try {
    const answer = await call(carrier);
    span.setAttribute('http.response.status_code', answer.status);
    if (answer.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    return answer;
  } catch (e) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (e as { code?: string }).code ?? 'error' });
    throw e;
  } finally {
    span.end();
  }
}
