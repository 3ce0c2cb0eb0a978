/**
 * Property-based tests (fast-check): whatever the input — template strings, variables, event
 * bodies, connector YAML, raw HTTP bodies — nothing crashes, and every rejection is a
 * GatewayError with a 4xx status (a problem, never a 500).
 */
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { compileConnector } from '../../src/config/compile';
import { isGatewayError } from '../../src/errors';
import { normalizeEvent, lenientJson } from '../../src/flows/events';
import { buildRequest } from '../../src/operations/request';
import { prepareCall } from '../../src/operations/variables';
import { compileValue } from '../../src/template/compile';
import { renderNode } from '../../src/template/render';
import { renderLongText } from '../../src/template/long-text';
import { startHarness, type Harness } from '../helpers/harness';

const ROOT = path.join(__dirname, '../..');
const zendesk = fs.readFileSync(path.join(ROOT, 'config/zendesk.yaml'), 'utf8');
const connector = compileConnector(zendesk, 'zendesk.yaml', {}).connector!;

const clientError = (e: unknown) => isGatewayError(e) && e.status >= 400 && e.status < 500;
const scalar = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));

test('templates: any string compiles to a tree or issues, and renders without throwing', () => {
  const piece = fc.oneof(
    fc.string(),
    fc.constantFrom('{', '}', '{EMAIL}', '{NAME}', '=', '=CONCAT_OR(', '=DEFAULT_VALUE(', ')', ',', '"', '{{', '}}', '(', '\n', '\u0000'),
  );
  fc.assert(
    fc.property(
      fc.array(piece, { maxLength: 12 }).map((a) => a.join('')),
      fc.dictionary(fc.constantFrom('EMAIL', 'NAME', 'PHONE_NUMBER'), scalar),
      (src, vars) => {
        const issues: Parameters<typeof compileValue>[1] = [];
        const node = compileValue({ p: src }, issues);
        const out = renderNode(node, {
          vars,
          html: false,
          missing: new Set(),
          renderLongText: (s, v, h) => {
            try {
              return renderLongText(s, v, h);
            } catch {
              return '';
            }
          },
        });
        expect(out === undefined || typeof out === 'object' || typeof out === 'symbol').toBe(true);
      },
    ),
    { numRuns: 1000 },
  );
});

test('requests: any variables either render a request or are refused with a 4xx', () => {
  const names = fc.constantFrom(
    'NAME',
    'EMAIL',
    'PHONE_NUMBER',
    'SDK_IDENTIFIER',
    'ACCOUNT_ID',
    'TICKET_SUBJECT',
    'RECORD_ID',
    'COMMENT_BODY',
    'CALL_DURATION',
    'NOPE',
    '__proto__',
    'constructor',
  );
  const value = fc.oneof(scalar, fc.constantFrom('\r\nX-Injected: 1', '../../etc', '+1 222 333 4444', 'abc', '%00', '<script>'), fc.object({ maxDepth: 1 }));
  fc.assert(
    fc.property(fc.constantFrom(...connector.endpoints.keys()), fc.dictionary(names, value, { maxKeys: 6 }), (op, vars) => {
      const ep = connector.endpoints.get(op)!;
      try {
        const req = buildRequest(
          connector,
          ep,
          prepareCall(vars, connector, ep, Date.now()),
          ep.upload ? { data: Buffer.from('x'), name: 'f', type: 'text/plain' } : undefined,
        );
        // Control characters never reach a header; the URL stays on the CRM's origin.
        for (const v of Object.values(req.headers)) expect(v).not.toMatch(/[\r\n]/);
        expect(new URL(req.url).origin).toBe('http://127.0.0.1:4010');
      } catch (e) {
        if (!clientError(e)) throw e;
      }
    }),
    { numRuns: 1000 },
  );
});

test('events: any JSON body is normalised or refused with a 4xx', () => {
  const body = fc.oneof(
    fc.jsonValue(),
    fc.record(
      {
        type: fc.oneof(fc.constantFrom('New_Call', 'End_Call', 'File_Available', 'CSAT_Submitted', 'Session_Started', 'constructor', '__proto__'), fc.string()),
        data: fc.oneof(fc.object(), fc.jsonValue()),
        event_id: fc.oneof(fc.string(), fc.integer()),
        timestamp: fc.oneof(fc.double(), fc.string(), fc.integer()),
      },
      { requiredKeys: ['type'] },
    ),
  );
  fc.assert(
    fc.property(body, (b) => {
      try {
        normalizeEvent(b);
      } catch (e) {
        if (!clientError(e)) throw e;
      }
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.string(), (text) => {
      try {
        lenientJson(text);
      } catch (e) {
        if (!clientError(e)) throw e;
      }
    }),
    { numRuns: 500 },
  );
});

test('connector YAML: random text and mutations of a valid file load or report issues, never throw', () => {
  const lines = zendesk.split('\n');
  const mutation = fc.tuple(
    fc.nat(lines.length - 1),
    fc.oneof(fc.string(), fc.constantFrom('', '  x: [', 'method: DELETE', '    url: {', '- - -', ': :', '  params: 7', '&a *a', '!!binary x')),
  );
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
      const copy = [...lines];
      for (const [i, text] of muts) copy[i] = text;
      const r = compileConnector(copy.join('\n'), 'fuzz.yaml', {});
      expect(Array.isArray(r.issues)).toBe(true);
      if (!r.connector) expect(r.issues.some((i) => i.severity === 'error')).toBe(true);
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (text) => {
      expect(Array.isArray(compileConnector(text, 'fuzz.yaml', {}).issues)).toBe(true);
    }),
    { numRuns: 500 },
  );
});

describe('over HTTP', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  test('garbage to the operation and event endpoints: always a 4xx problem or success, never 5xx', async () => {
    const bodies = fc.sample(
      fc.oneof(
        fc.string(),
        fc.jsonValue().map((v) => JSON.stringify(v)),
        fc.record({ variables: fc.dictionary(fc.constantFrom('EMAIL', 'PHONE_NUMBER', 'NAME', 'X'), scalar) }).map((v) => JSON.stringify(v)),
      ),
      150,
    );
    for (const [i, body] of bodies.entries()) {
      const target = i % 2 ? `/v1/connectors/zendesk/operations/create_record?dry_run=true` : `/v1/connectors/zendesk/sessions/fuzz-${i}/events`;
      const res = await fetch(h.gw.url + target, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      await res.arrayBuffer();
      expect({ target, body, status: res.status < 500 }).toEqual({ target, body, status: true });
    }
  });
});
