/**
 * OpenTelemetry: off by default; with an OTLP endpoint, a SERVER span per API request that
 * continues the caller's traceparent, a CLIENT span per CRM call under it, and the trace carried
 * to the CRM in its traceparent header. The collector is a real HTTP server receiving OTLP/JSON.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startHarness, ROOT } from '../helpers/harness';
import { startChild } from '../helpers/child';
import { startSampleCrm } from '../../src/sample-crm';

jest.setTimeout(60_000);

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
}

let collector: http.Server;
let endpoint: string;
const spans: OtlpSpan[] = [];

beforeAll(async () => {
  collector = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const doc = JSON.parse(body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
        for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(collector.address() as { port: number }).port}`;
});
afterAll(() => new Promise((r) => collector.close(r)));

const attr = (s: OtlpSpan, key: string) => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v ? Object.values(v)[0] : undefined;
};

test('off by default: no traceparent goes to the CRM', async () => {
  const h = await startHarness();
  try {
    await h.op('find_account', { PHONE_NUMBER: '+1 222 333 4444' });
    expect(h.crm.crm.requests.at(-1)!.headers.traceparent).toBeUndefined();
  } finally {
    await h.close();
  }
});

// A real gateway process: the OTLP exporter loads its transport with a dynamic import, which
// jest's module sandbox does not run; a process is also what is deployed.
test('with an OTLP endpoint: server span continuing the caller, client span per CRM call, traceparent to the CRM', async () => {
  const crm = await startSampleCrm({ flavor: 'zendesk', port: 0 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trace-'));
  const child = await startChild({
    CONFIG_DIR: path.join(ROOT, 'config'),
    DATA_DIR: dir,
    ZENDESK_URL: crm.url,
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_SERVICE_NAME: 'gw-test',
  });
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  let crmTraceparent: string | string[] | undefined;
  try {
    const r = await fetch(`${child.url}/v1/connectors/zendesk/operations/find_account`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      body: JSON.stringify({ variables: { PHONE_NUMBER: '+1 222 333 4444' } }),
    });
    expect(r.status).toBe(200);
    crmTraceparent = crm.crm.requests.at(-1)!.headers.traceparent;
  } finally {
    await child.kill('SIGTERM'); // flushes the spans
    await crm.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  expect(crmTraceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  const server = spans.find((s) => s.traceId === traceId && s.kind === 2)!;
  expect(server).toBeDefined();
  expect(server.name).toBe('POST /v1/connectors/:id/operations/:operation');
  expect(server.parentSpanId).toBe('00f067aa0ba902b7');
  expect(attr(server, 'http.response.status_code')).toEqual(200);
  const client = spans.find((s) => s.traceId === traceId && s.kind === 3)!;
  expect(client.parentSpanId).toBe(server.spanId);
  expect(String(crmTraceparent).split('-')[2]).toBe(client.spanId);
  // Nothing of the search (a phone number) reaches the collector.
  expect(JSON.stringify(spans)).not.toMatch(/2223334444|222\*333/);
});
