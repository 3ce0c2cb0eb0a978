/**
 * The token bucket core, on a fake clock: what a reservation waits, when it is refused, how a
 * Retry-After pause and a cap from the CRM's headers change the pace.
 */
import { block, cap, fullBucket, refill, refund, reserve, type BucketSpec, type BucketState } from '../../src/pacing/bucket';

const spec: BucketSpec = { ratePerSec: 10, burst: 3 };
const T0 = 1_000_000;

describe('reserve', () => {
  test.each<[string, BucketState, number, number, { granted: boolean; waitMs?: number; retryAfterMs?: number; tokens: number }]>([
    ['full bucket: no wait', fullBucket(spec, T0), T0, 1000, { granted: true, waitMs: 0, tokens: 2 }],
    ['one token left: no wait', { tokens: 1, updatedMs: T0, blockedUntilMs: 0 }, T0, 1000, { granted: true, waitMs: 0, tokens: 0 }],
    ['empty: waits one token (100 ms at 10/s)', { tokens: 0, updatedMs: T0, blockedUntilMs: 0 }, T0, 1000, { granted: true, waitMs: 100, tokens: -1 }],
    ['two queued ahead: waits three tokens', { tokens: -2, updatedMs: T0, blockedUntilMs: 0 }, T0, 1000, { granted: true, waitMs: 300, tokens: -3 }],
    ['refill since last call counts', { tokens: 0, updatedMs: T0 - 50, blockedUntilMs: 0 }, T0, 1000, { granted: true, waitMs: 50, tokens: -0.5 }],
    ['refill stops at burst', { tokens: 0, updatedMs: T0 - 60_000, blockedUntilMs: 0 }, T0, 0, { granted: true, waitMs: 0, tokens: 2 }],
    [
      'wait beyond maxWait: refused, nothing taken',
      { tokens: -20, updatedMs: T0, blockedUntilMs: 0 },
      T0,
      1000,
      { granted: false, retryAfterMs: 2100, tokens: -20 },
    ],
    ['maxWait exactly met: granted', { tokens: -9, updatedMs: T0, blockedUntilMs: 0 }, T0, 1000, { granted: true, waitMs: 1000, tokens: -10 }],
    [
      'paused until T0+500: waits the pause',
      { tokens: 0, updatedMs: T0 + 500, blockedUntilMs: T0 + 500 },
      T0,
      1000,
      { granted: true, waitMs: 600, tokens: -1 },
    ],
    [
      'paused past the deadline: refused',
      { tokens: 0, updatedMs: T0 + 5000, blockedUntilMs: T0 + 5000 },
      T0,
      1000,
      { granted: false, retryAfterMs: 5100, tokens: 0 },
    ],
  ])('%s', (_name, state, now, maxWait, want) => {
    const r = reserve(state, spec, now, maxWait);
    expect(r.granted).toBe(want.granted);
    if (r.granted) expect(r.waitMs).toBeCloseTo(want.waitMs!, 6);
    else expect(r.retryAfterMs).toBe(want.retryAfterMs);
    expect(r.state.tokens).toBeCloseTo(want.tokens, 6);
  });

  test('N calls in a row are spaced 1/rate apart after the burst', () => {
    let s = fullBucket(spec, T0);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = reserve(s, spec, T0, 10_000);
      if (!r.granted) throw new Error('refused');
      waits.push(Math.round(r.waitMs));
      s = r.state;
    }
    expect(waits).toEqual([0, 0, 0, 100, 200, 300]);
  });

  test('over any window, grants never exceed burst + rate × window (simulated callers, fake clock)', () => {
    let s = fullBucket(spec, T0);
    const sendTimes: number[] = [];
    for (let now = T0; now < T0 + 10_000; now += 7) {
      // Three callers every 7 ms, each willing to wait 200 ms.
      for (let k = 0; k < 3; k++) {
        const r = reserve(s, spec, now, 200);
        s = r.state;
        if (r.granted) sendTimes.push(now + r.waitMs);
      }
    }
    sendTimes.sort((a, b) => a - b);
    for (let i = 0; i < sendTimes.length; i++) {
      const inWindow = sendTimes.filter((t) => t >= sendTimes[i] && t < sendTimes[i] + 1000).length;
      expect(inWindow).toBeLessThanOrEqual(spec.burst + spec.ratePerSec);
    }
    // …and the rate is used: about 10/s over 10 s.
    expect(sendTimes.length).toBeGreaterThanOrEqual(100);
  });
});

describe('refund, block, cap', () => {
  test('refund gives a token back, never above burst', () => {
    expect(refund({ tokens: -1, updatedMs: T0, blockedUntilMs: 0 }, spec, T0).tokens).toBe(0);
    expect(refund(fullBucket(spec, T0), spec, T0).tokens).toBe(3);
  });

  test('block: nothing before the pause ends, refilling from empty after it', () => {
    const s = block(fullBucket(spec, T0), spec, T0, T0 + 2000);
    expect(s).toMatchObject({ tokens: 0, updatedMs: T0 + 2000, blockedUntilMs: T0 + 2000 });
    const r = reserve(s, spec, T0 + 100, 5000);
    expect(r.granted && r.waitMs).toBeCloseTo(2000, 6); // 1900 to the end of the pause + 100 for a token
  });

  test('block keeps what reservations already owe and never shortens a longer pause', () => {
    const s = block({ tokens: -2, updatedMs: T0, blockedUntilMs: 0 }, spec, T0, T0 + 1000);
    expect(s.tokens).toBe(-2);
    expect(block(s, spec, T0, T0 + 500).blockedUntilMs).toBe(T0 + 1000);
    expect(block(s, spec, T0, T0 - 1)).toBe(s);
  });

  test('cap: paces at the lower rate without a burst until it ends', () => {
    const s = cap(fullBucket(spec, T0), spec, T0, 2, T0 + 5000);
    expect(s.tokens).toBe(1);
    let st = s;
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = reserve(st, spec, T0, 10_000);
      if (!r.granted) throw new Error('refused');
      waits.push(Math.round(r.waitMs));
      st = r.state;
    }
    expect(waits).toEqual([0, 500, 1000]);
    // After the cap ends, the spec's rate again.
    expect(refill({ tokens: 0, updatedMs: T0 + 6000, blockedUntilMs: 0, capRate: 2, capUntilMs: T0 + 5000 }, spec, T0 + 6100).tokens).toBeCloseTo(1, 6);
  });

  test('cap at or above the spec rate changes nothing; a newer cap replaces an older one', () => {
    const s = fullBucket(spec, T0);
    expect(cap(s, spec, T0, 10, T0 + 1000)).toBe(s);
    const tight = cap(s, spec, T0, 1, T0 + 1000);
    const looser = cap(tight, spec, T0, 5, T0 + 2000);
    expect(looser).toMatchObject({ capRate: 5, capUntilMs: T0 + 2000 });
  });
});
