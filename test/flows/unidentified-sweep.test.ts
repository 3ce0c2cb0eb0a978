/** The unidentified sweep's timer: runs on schedule, one pass at a time, survives a failing pass, stops cleanly. */
import { UnidentifiedSweeper } from '../../src/flows/unidentified-sweep';

const logger = () => {
  const lines: Array<[string, unknown, string]> = [];
  const log = (level: string) => (o: unknown, msg: string) => {
    lines.push([level, o, msg]);
  };
  return { lines, logger: { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug'), child: () => logger().logger } as never };
};

test('marks on each tick, logs what it marked, and a failing pass does not stop the next', async () => {
  const results: Array<number | Error> = [2, new Error('store down'), 0];
  let calls = 0;
  const { lines, logger: l } = logger();
  const sweeper = new UnidentifiedSweeper({
    flows: {
      markUnidentified: async () => {
        const r = results[calls++] ?? 0;
        if (r instanceof Error) throw r;
        return r;
      },
    },
    logger: l,
    everyMs: 20,
  });
  sweeper.start();
  // Three ticks of 20 ms; on a loaded machine timers run late, so wait for them rather than a fixed time.
  const deadline = Date.now() + 10_000;
  while (calls < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await sweeper.stop();
  expect(calls).toBeGreaterThanOrEqual(3);
  expect(lines.filter(([level]) => level === 'warn').map(([, , msg]) => msg)).toEqual([
    expect.stringMatching(/marked unidentified/),
    expect.stringMatching(/unidentified sweep failed/),
  ]);
  const after = calls;
  await new Promise((r) => setTimeout(r, 60));
  expect(calls).toBe(after); // stopped
});

test('one pass at a time: a sweep asked for while one runs joins it', async () => {
  let calls = 0;
  let release!: () => void;
  const sweeper = new UnidentifiedSweeper({
    flows: {
      markUnidentified: () => {
        calls++;
        return new Promise<number>((r) => {
          release = () => r(0);
        });
      },
    },
    logger: logger().logger,
  });
  const a = sweeper.sweep();
  const b = sweeper.sweep();
  release();
  await Promise.all([a, b]);
  expect(calls).toBe(1);
});
