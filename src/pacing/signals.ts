/**
 * What a CRM's answer says about its rate limit, as pure functions of (status, headers, now):
 * pause everybody (Retry-After on a 429/503, or nothing remaining), or pace slower so the rest
 * of the budget lasts until it resets ("slow down before a 429, not after").
 *
 * Understood: Retry-After (seconds or HTTP-date); X-RateLimit-Limit/-Remaining/-Reset and the
 * IETF RateLimit-Limit/-Remaining/-Reset (reset: seconds from now, or epoch seconds);
 * Zendesk's X-Rate-Limit / X-Rate-Limit-Remaining (a per-minute budget, no reset);
 * HubSpot's X-HubSpot-RateLimit-Max/-Remaining/-Interval-Milliseconds and
 * -Secondly/-Secondly-Remaining.
 */
export type PaceAction =
  | { kind: 'block'; untilMs: number; source: 'retry_after' | 'remaining' }
  | { kind: 'cap'; ratePerSec: number; untilMs: number; source: 'remaining' };

/** One budget window a CRM reports. */
export interface RateWindow {
  remaining: number;
  limit?: number;
  /** ms from now until the window resets (when the CRM says). */
  resetInMs?: number;
  /** The window's length (when the CRM says, without a reset time). */
  windowMs?: number;
}

/** Below this share of the window's limit, a window without a reset time is "low". */
export const LOW_SHARE = 0.2;
/** A 429 without Retry-After or reset: pause this long. */
export const DEFAULT_PAUSE_MS = 1000;
/** A Retry-After longer than this is read as this (a broken header must not stall a connector for days). */
export const MAX_PAUSE_MS = 10 * 60_000;

type Headers = Record<string, string | undefined>;

/** Retry-After as ms from now: delta seconds or an HTTP-date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.min(MAX_PAUSE_MS, Math.round(Number(v) * 1000));
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.min(MAX_PAUSE_MS, Math.max(0, at - now));
}

function header(h: Headers, name: string): string | undefined {
  const direct = h[name];
  if (direct !== undefined) return direct;
  for (const [k, v] of Object.entries(h)) if (k.toLowerCase() === name) return v;
  return undefined;
}

function num(h: Headers, name: string): number | undefined {
  const v = header(h, name);
  if (v === undefined) return undefined;
  // "100, 100;w=10" (IETF lists): the first figure.
  const n = Number.parseFloat(v.split(/[,;]/)[0]);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** A reset value as ms from now: epoch seconds (or ms) when it is that large, else delta seconds. */
function resetMs(value: number | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  if (value > 1e12) return Math.max(0, value - now);
  if (value > 1e9) return Math.max(0, value * 1000 - now);
  return value * 1000;
}

/** Every budget window the headers report. */
export function rateWindows(headers: Headers, now: number): RateWindow[] {
  const out: RateWindow[] = [];
  for (const prefix of ['x-ratelimit-', 'ratelimit-']) {
    const remaining = num(headers, `${prefix}remaining`);
    if (remaining === undefined) continue;
    out.push({ remaining, limit: num(headers, `${prefix}limit`), resetInMs: resetMs(num(headers, `${prefix}reset`), now) });
    break;
  }
  const zdRemaining = num(headers, 'x-rate-limit-remaining');
  if (zdRemaining !== undefined) out.push({ remaining: zdRemaining, limit: num(headers, 'x-rate-limit'), windowMs: 60_000 });
  const hsRemaining = num(headers, 'x-hubspot-ratelimit-remaining');
  if (hsRemaining !== undefined)
    out.push({
      remaining: hsRemaining,
      limit: num(headers, 'x-hubspot-ratelimit-max'),
      windowMs: num(headers, 'x-hubspot-ratelimit-interval-milliseconds') ?? 10_000,
    });
  const hsSecondly = num(headers, 'x-hubspot-ratelimit-secondly-remaining');
  if (hsSecondly !== undefined) out.push({ remaining: hsSecondly, limit: num(headers, 'x-hubspot-ratelimit-secondly'), windowMs: 1000 });
  return out;
}

/**
 * What to do after an answer. A 429 (or 503 with Retry-After) pauses everybody for the
 * Retry-After; nothing remaining pauses until the window resets (or one token's time); a low
 * remaining budget caps the rate at what spreads it evenly until the reset.
 */
export function paceActions(status: number | undefined, headers: Headers, now: number): PaceAction[] {
  const actions: PaceAction[] = [];
  const windows = rateWindows(headers, now);
  const after = status === 429 || status === 503 ? retryAfterMs(header(headers, 'retry-after'), now) : undefined;
  if (after !== undefined && after > 0) actions.push({ kind: 'block', untilMs: now + after, source: 'retry_after' });
  else if (status === 429) {
    const reset = windows.map((w) => w.resetInMs).find((r) => r !== undefined && r > 0);
    actions.push({ kind: 'block', untilMs: now + Math.min(MAX_PAUSE_MS, reset ?? DEFAULT_PAUSE_MS), source: 'retry_after' });
  }
  for (const w of windows) {
    const sustained = w.limit && w.windowMs ? (w.limit * 1000) / w.windowMs : undefined;
    if (w.remaining < 1) {
      // Nothing left: until the reset, or (a rolling window) until one call's share comes back.
      const pause = w.resetInMs ?? (sustained ? 1000 / sustained : DEFAULT_PAUSE_MS);
      if (pause > 0) actions.push({ kind: 'block', untilMs: now + Math.min(MAX_PAUSE_MS, pause), source: 'remaining' });
    } else if (w.resetInMs !== undefined && w.resetInMs > 0) {
      actions.push({ kind: 'cap', ratePerSec: (w.remaining * 1000) / w.resetInMs, untilMs: now + w.resetInMs, source: 'remaining' });
    } else if (sustained && w.limit && w.remaining < Math.max(1, LOW_SHARE * w.limit)) {
      // Low, no reset time: no faster than the CRM refills, for one window.
      actions.push({ kind: 'cap', ratePerSec: sustained, untilMs: now + w.windowMs!, source: 'remaining' });
    }
  }
  return actions;
}
