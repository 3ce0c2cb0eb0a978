/**
 * Asynchronous bulk jobs end to end (SQLite and PostgreSQL): config/zendesk.yaml's add_comment with its
 * batch: block on. Comments of many tickets go out as one update_many per max_items; the
 * gateway polls the job it names and maps each ticket's result back to its own delivery; a
 * ticket the job could not update (closed) is retried alone through PUT /tickets/{id} and
 * classified there; every other comment is added exactly once.
 */
import { startOfWindow, until, withBatch } from '../helpers/bulk';
import { startHarness, type Harness } from '../helpers/harness';
import { dropSchema, newSchemaName, PG_URL, postgresAvailable } from '../helpers/postgres';

const MAX_ITEMS = 10;
const WINDOW_S = 2;

const stores: Array<[string, () => Promise<Record<string, string> | undefined>]> = [
  ['sqlite', async () => ({})],
  ['postgres', async () => ((await postgresAvailable()) ? { DATABASE_URL: PG_URL, DATABASE_SCHEMA: newSchemaName() } : undefined)],
];

describe.each(stores)('bulk jobs on %s', (kind, storeEnv) => {
  let h: Harness | undefined;
  let env: Record<string, string> | undefined;
  beforeAll(async () => {
    env = await storeEnv();
    if (!env) return;
    h = await startHarness({
      connectors: {
        'zendesk.yaml': withBatch('zendesk.yaml', { maxItems: MAX_ITEMS, windowSeconds: WINDOW_S }),
        // The same, giving up on a job after 2 s.
        'stuck.yaml': withBatch('zendesk.yaml', { maxItems: MAX_ITEMS, windowSeconds: WINDOW_S })
          .replace(/^id: zendesk$/m, 'id: zd-stuck')
          .replace('timeout_seconds: 60', 'timeout_seconds: 2'),
      },
      env,
    });
  });
  afterAll(async () => {
    await h?.close();
    if (env?.DATABASE_SCHEMA) await dropSchema(env.DATABASE_SCHEMA);
  });

  test('30 comments → 3 update_many jobs, each polled; a closed ticket is refused in the job, retried alone and dead; the rest added once', async () => {
    if (!h) return;
    const crm = h.crm.crm;
    const user = crm.seedUser({ name: 'Bulk Jobs' });
    const tickets = Array.from(
      { length: 30 },
      (_, i) => crm.seedTicket({ requester_id: user.id, subject: `job ${i}`, status: i === 7 ? 'closed' : 'open' }).id,
    );
    crm.clearRequests();
    await startOfWindow(WINDOW_S);
    const accepted = await Promise.all(
      tickets.map((id, i) => h!.op('add_comment', { RECORD_ID: id, COMMENT_BODY: `bulk comment ${i}` }, { query: '?async=true' })),
    );
    expect(accepted.map((r) => r.status)).toEqual(tickets.map(() => 202));
    const ds = await until(
      () => Promise.all(accepted.map((r) => h!.get(`/v1/deliveries/${r.body.id}`).then((x) => x.body))),
      (all) => all.every((d) => ['delivered', 'dead'].includes(d.status)),
    );
    const bulk = crm.requests.filter((r) => r.path === '/api/v2/tickets/update_many.json');
    const polls = crm.requests.filter((r) => r.path.startsWith('/api/v2/job_statuses/'));
    const singles = crm.requests.filter((r) => r.method === 'PUT' && /^\/api\/v2\/tickets\/\d+\.json$/.test(r.path));
    // eslint-disable-next-line no-console
    console.log(`bulk jobs (zendesk, ${kind}): 30 comments → ${bulk.length} update_many + ${polls.length} job polls + ${singles.length} alone`);
    // Per window: on a slow machine the burst may straddle a window end.
    expect(bulk.length).toBeLessThanOrEqual(new Set(accepted.map((r) => r.body.next_attempt_at)).size * Math.ceil(30 / MAX_ITEMS));
    expect(polls.length).toBe(bulk.length); // the sample's jobs finish by the first poll

    const closed = ds[7];
    expect(closed).toMatchObject({ status: 'dead', last_error: { crm_status: 422 } });
    expect(closed.history).toEqual([
      expect.objectContaining({ status: 200, request: expect.stringMatching(/^PUT .*\/api\/v2\/tickets\/update_many\.json$/) }),
      expect.objectContaining({
        status: 200,
        classification: 'retry',
        request: expect.stringMatching(/^GET .*\/api\/v2\/job_statuses\//),
        reason: expect.stringContaining('closed prevents ticket update'),
      }),
      expect.objectContaining({ status: 422, classification: 'fail', request: expect.stringMatching(/^PUT .*\/api\/v2\/tickets\/\d+\.json$/) }),
    ]);
    expect(singles).toHaveLength(1);

    for (const [i, d] of ds.entries()) {
      if (i === 7) continue;
      expect(d).toMatchObject({ status: 'delivered', attempts: 1, result: { bulk: { items: expect.any(Number) } } });
      const added = crm.state.comments.filter((c) => c.ticket_id === tickets[i] && c.body === `bulk comment ${i}`);
      expect(added).toHaveLength(1);
    }
  });

  test('a job that never finishes: its writes are retried alone as ambiguous, dedupe looks first, each comment added once', async () => {
    if (!h) return;
    const crm = h.crm.crm;
    const user = crm.seedUser({ name: 'Stuck Job' });
    const tickets = Array.from({ length: 4 }, (_, i) => crm.seedTicket({ requester_id: user.id, subject: `stuck ${i}` }).id);
    crm.clearRequests();
    // Every poll answers "working" (the job never runs in the sample: it runs when a poll reaches it).
    crm.injectFault({
      method: 'GET',
      path: '/api/v2/job_statuses',
      status: 200,
      body: { job_status: { status: 'working', url: '/api/v2/job_statuses/stuck.json' } },
      always: true,
    });
    try {
      await startOfWindow(WINDOW_S);
      const accepted = await Promise.all(
        tickets.map((id, i) => h!.op('add_comment', { RECORD_ID: id, COMMENT_BODY: `stuck comment ${i}` }, { connector: 'zd-stuck', query: '?async=true' })),
      );
      const ds = await until(
        () => Promise.all(accepted.map((r) => h!.get(`/v1/deliveries/${r.body.id}`).then((x) => x.body))),
        (all) => all.every((d) => ['delivered', 'dead'].includes(d.status)),
      );
      for (const d of ds) {
        expect(d).toMatchObject({ status: 'delivered', attempts: 2 });
        expect(d.history[1]).toMatchObject({ classification: 'retry', reason: expect.stringContaining('the bulk job was still working after 2 s') });
        // The next try went alone and looked first (GET comments), then sent the comment.
        expect(d.history.slice(2).map((a: { request: string }) => a.request.split(' ')[0])).toEqual(['GET', 'PUT']);
      }
      expect(crm.requests.filter((r) => r.path === '/api/v2/tickets/update_many.json')).toHaveLength(1);
      tickets.forEach((id, i) => expect(crm.state.comments.filter((c) => c.ticket_id === id && c.body === `stuck comment ${i}`)).toHaveLength(1));
    } finally {
      crm.clearFaults();
    }
  });
});
