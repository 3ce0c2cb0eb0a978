/**
 * `rate_limit:` → the compiled budget. The schema already checked types and signs; this checks
 * what it cannot: operation names, and budgets too fine or too coarse to pace by.
 */
import type { PathSegment } from './yaml-source';
import { OPERATIONS, type CompiledEndpoint, type OperationName, type RateBudget, type RateLimit, type RateLimitFile } from './types';

/** A burst default when none is given: the interval's requests, but no more than this at once. */
export const DEFAULT_MAX_BURST = 100;
/** Faster than this is no pacing at all (and likely a typo for per_seconds). */
const MAX_RATE_PER_SEC = 100_000;

type Report = (path: PathSegment[], message: string) => void;

export function compileRateLimit(
  raw: RateLimitFile | undefined,
  endpoints: ReadonlyMap<OperationName, CompiledEndpoint>,
  error: Report,
): RateLimit | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const budget = budgetOf(raw, [], error);
  if (!budget) return undefined;
  const operations = new Map<string, RateBudget>();
  for (const [name, op] of Object.entries(raw.operations ?? {})) {
    // Bulk calls (batch endpoints) pace under "<operation>:batch".
    const base = name.endsWith(':batch') ? name.slice(0, -':batch'.length) : name;
    if (!(OPERATIONS as readonly string[]).includes(base)) {
      error(['operations', name], `unknown operation "${name}"; known: ${OPERATIONS.join(', ')}`);
      continue;
    }
    if (!endpoints.has(base as OperationName)) {
      error(['operations', name], `operation "${base}" has no endpoint in this connector; remove it or add endpoints.${base}`);
      continue;
    }
    const b = op && typeof op === 'object' ? budgetOf(op, ['operations', name], error) : undefined;
    if (b) operations.set(name, b);
  }
  return {
    ...budget,
    ...(raw.max_concurrent !== undefined ? { maxConcurrent: raw.max_concurrent } : {}),
    countTokenCalls: raw.count_token_calls ?? false,
    operations,
  };
}

function budgetOf(raw: { requests: number; per_seconds?: number; burst?: number }, at: PathSegment[], error: Report): RateBudget | undefined {
  if (typeof raw.requests !== 'number' || !(raw.requests > 0)) return undefined; // the schema reported it
  const perSeconds = typeof raw.per_seconds === 'number' && raw.per_seconds > 0 ? raw.per_seconds : 1;
  const ratePerSec = raw.requests / perSeconds;
  if (ratePerSec > MAX_RATE_PER_SEC) {
    error(
      [...at, 'requests'],
      `${raw.requests} requests per ${perSeconds} s is over ${MAX_RATE_PER_SEC}/s: no pacing at all (did you mean per_seconds: ${raw.requests}?)`,
    );
    return undefined;
  }
  const burst = raw.burst ?? Math.max(1, Math.min(DEFAULT_MAX_BURST, Math.floor(raw.requests)));
  if (raw.burst !== undefined && raw.burst > raw.requests) {
    error([...at, 'burst'], `burst ${raw.burst} is more than the ${raw.requests} requests of one interval: the CRM would see more than its limit at once`);
    return undefined;
  }
  return { ratePerSec, burst };
}
