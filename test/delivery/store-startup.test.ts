/** The pure parts of opening the store through an outage: one-line error summaries, backoff, retries. */
import pino from 'pino';
import { StoreStartup, isStoreUnavailable, startupBackoffMs, summarizeStoreError } from '../../src/delivery/store-startup';

function withFields(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

describe('summarizeStoreError', () => {
  const bigClient = { connectionParameters: { password: 'pw-in-client' }, buffer: 'x'.repeat(7000) };
  test.each([
    [
      'a refused connection',
      withFields('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED', errno: -111 }),
      { message: 'connect ECONNREFUSED 127.0.0.1:5432', code: 'ECONNREFUSED' },
    ],
    [
      'an idle client terminated (pg attaches the whole client)',
      withFields('terminating connection due to administrator command', { code: '57P01', client: bigClient }),
      { message: 'terminating connection due to administrator command', code: '57P01' },
    ],
    [
      'a refused connection to a host with two addresses (AggregateError, empty message)',
      new AggregateError([withFields('connect ECONNREFUSED ::1:5432', { code: 'ECONNREFUSED' })], ''),
      { message: 'connect ECONNREFUSED ::1:5432', code: 'ECONNREFUSED' },
    ],
    ['a database not created yet', withFields('database "crm" does not exist', { code: '3D000' }), { message: 'database "crm" does not exist', code: '3D000' }],
    ['a message on several lines', new Error('Connection terminated\n   unexpectedly'), { message: 'Connection terminated unexpectedly' }],
    ['not an Error', 'boom', { message: 'boom' }],
  ])('%s', (_name, error, expected) => {
    const s = summarizeStoreError(error);
    expect(s).toEqual(expected);
    expect(JSON.stringify(s)).not.toContain('pw-in-client');
  });

  test('a very long message is cut', () => {
    expect(summarizeStoreError(new Error('x'.repeat(5000))).message).toHaveLength(300);
  });
});

test.each([
  [1, 500],
  [2, 1000],
  [3, 2000],
  [5, 8000],
  [6, 10_000],
  [50, 10_000],
])('backoff after attempt %i: %i ms', (attempt, ms) => {
  expect(startupBackoffMs(attempt)).toBe(ms);
});

function memoryLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

test('retries until the store opens; says why it is not ready meanwhile; one short line per failed attempt', async () => {
  const { logger, lines } = memoryLogger();
  let calls = 0;
  const startup = new StoreStartup({
    logger,
    backoffMs: () => 5,
    open: async () => {
      calls++;
      if (calls < 3) throw withFields('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED', client: { big: 'y'.repeat(7000) } });
    },
  });
  expect(await startup.tryOnce()).toBe(false);
  expect(startup.reason).toBe('database not ready: connect ECONNREFUSED 127.0.0.1:5432 (ECONNREFUSED); attempt 1, next in 0 s');
  await startup.untilReady();
  expect(startup.reason).toBeUndefined();
  expect(calls).toBe(3);
  const failures = lines.filter((l) => String(l.msg).startsWith('database not ready'));
  expect(failures.map((l) => [l.attempt, l.code])).toEqual([
    [1, 'ECONNREFUSED'],
    [2, 'ECONNREFUSED'],
  ]);
  for (const l of failures) expect(JSON.stringify(l).length).toBeLessThan(400);
  expect(lines.at(-1)).toMatchObject({ attempts: 3 });
});

test('stopped before the store opens: untilReady rejects and no more attempts are made', async () => {
  const { logger } = memoryLogger();
  let calls = 0;
  const startup = new StoreStartup({
    logger,
    backoffMs: () => 60_000,
    open: async () => {
      calls++;
      throw new Error('down');
    },
  });
  await startup.tryOnce();
  const waiting = startup.untilReady();
  startup.stop();
  await expect(waiting).rejects.toThrow(/stopped before the delivery store was ready/);
  expect(calls).toBe(1);
});

test.each([
  ['connection refused', withFields('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' }), true],
  ['host unknown', withFields('getaddrinfo ENOTFOUND db', { code: 'ENOTFOUND' }), true],
  ['server shutting down', withFields('terminating connection due to administrator command', { code: '57P01' }), true],
  ['starting up', withFields('the database system is starting up', { code: '57P03' }), true],
  ['connection exception class', withFields('connection failure', { code: '08006' }), true],
  ['no such database', withFields('database "x" does not exist', { code: '3D000' }), true],
  ['too many connections', withFields('sorry, too many clients already', { code: '53300' }), true],
  ['pg client lost its connection', new Error('Connection terminated unexpectedly'), true],
  ['pool could not connect in time', new Error('timeout exceeded when trying to connect'), true],
  ['refused on every address', new AggregateError([withFields('connect ECONNREFUSED ::1:5432', { code: 'ECONNREFUSED' })], ''), true],
  ['a query the database refused', withFields('syntax error at or near "SELEC"', { code: '42601' }), false],
  ['a constraint', withFields('duplicate key value violates unique constraint', { code: '23505' }), false],
  ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')"), false],
])('isStoreUnavailable: %s → %s', (_name, error, expected) => {
  expect(isStoreUnavailable(error)).toBe(expected);
});
