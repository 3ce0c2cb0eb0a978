/**
 * An enforced API rate limit, as real CRMs have: a token bucket (perSecond, burst) over the
 * authenticated API routes, a 429 with Retry-After and the vendor's body when it is empty, and
 * the vendor's rate headers on every answer (Zendesk: X-Rate-Limit / X-Rate-Limit-Remaining, a
 * per-minute budget; HubSpot: X-HubSpot-RateLimit-Max/-Remaining/-Interval-Milliseconds and
 * -Secondly/-Secondly-Remaining; other flavours: Retry-After only). Counts what arrived per
 * second, so tests can check that nobody sent more than the limit.
 *
 * Off unless set: createSampleCrm({ limit }) or POST /__control/limit {perSecond, burst}.
 */
import express, { type RequestHandler, type Router } from 'express';
import { isRecord } from './body';
import type { Clock } from './clock';

export interface SampleRateLimit {
  perSecond: number;
  /** Calls that may arrive back to back; default perSecond. */
  burst?: number;
}

export type RateHeaderStyle = 'zendesk' | 'hubspot' | 'none';

export interface RateLimitStats {
  limit?: Required<SampleRateLimit>;
  /** Requests that arrived, by second (ms epoch / 1000, floored), 429s included. */
  perSecond: Record<string, number>;
  admitted: number;
  rejected: number;
}

export class RateLimitEnforcer {
  private limit?: Required<SampleRateLimit>;
  private tokens = 0;
  private updated = 0;
  private counts = new Map<number, number>();
  private admitted = 0;
  private rejected = 0;

  constructor(
    private readonly clock: Clock,
    private readonly style: RateHeaderStyle,
  ) {}

  set(limit: SampleRateLimit | undefined): void {
    if (limit && !(limit.perSecond > 0)) throw new Error('perSecond must be > 0');
    this.limit = limit && { perSecond: limit.perSecond, burst: Math.max(1, Math.floor(limit.burst ?? limit.perSecond)) };
    this.tokens = this.limit?.burst ?? 0;
    this.updated = this.clock();
    this.clearStats();
  }

  clearStats(): void {
    this.counts = new Map();
    this.admitted = 0;
    this.rejected = 0;
  }

  stats(): RateLimitStats {
    return {
      ...(this.limit ? { limit: this.limit } : {}),
      perSecond: Object.fromEntries(this.counts),
      admitted: this.admitted,
      rejected: this.rejected,
    };
  }

  middleware(): RequestHandler {
    return (_req, res, next) => {
      const l = this.limit;
      if (!l) return next();
      const now = this.clock();
      const second = Math.floor(now / 1000);
      this.counts.set(second, (this.counts.get(second) ?? 0) + 1);
      this.tokens = Math.min(l.burst, this.tokens + ((now - this.updated) * l.perSecond) / 1000);
      this.updated = now;
      if (this.tokens < 1) {
        this.rejected++;
        const waitS = Math.max(1, Math.ceil((1 - this.tokens) / l.perSecond));
        this.headers(res, l, 0);
        res.set('Retry-After', String(waitS));
        res.status(429).json(this.body());
        return;
      }
      this.tokens -= 1;
      this.admitted++;
      this.headers(res, l, this.tokens);
      next();
    };
  }

  private headers(res: express.Response, l: Required<SampleRateLimit>, tokens: number): void {
    // The budget as the vendor reports it: a share of its window, scaled from the bucket.
    const share = (limit: number) => (tokens < 1 ? 0 : Math.max(1, Math.floor((tokens / l.burst) * limit)));
    if (this.style === 'zendesk') {
      const perMinute = Math.round(l.perSecond * 60);
      res.set({ 'X-Rate-Limit': String(perMinute), 'X-Rate-Limit-Remaining': String(share(perMinute)) });
    } else if (this.style === 'hubspot') {
      const perTen = Math.round(l.perSecond * 10);
      res.set({
        'X-HubSpot-RateLimit-Max': String(perTen),
        'X-HubSpot-RateLimit-Remaining': String(share(perTen)),
        'X-HubSpot-RateLimit-Interval-Milliseconds': '10000',
        'X-HubSpot-RateLimit-Secondly': String(Math.round(l.perSecond)),
        'X-HubSpot-RateLimit-Secondly-Remaining': String(Math.floor(Math.min(tokens, l.perSecond))),
      });
    }
  }

  private body(): unknown {
    if (this.style === 'hubspot') return { status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT', policyName: 'SECONDLY' };
    return { error: 'APIRateLimitExceeded', description: 'Number of allowed API requests per minute exceeded' };
  }
}

/** /__control/limit: GET the stats, POST {perSecond, burst} to enforce, DELETE to lift, POST /clear to zero the counts. */
export function rateLimitControl(enforcer: RateLimitEnforcer): Router {
  const router = express.Router();
  router.use(express.json({ limit: '16kb' }));
  router.get('/', (_req, res) => {
    res.json(enforcer.stats());
  });
  router.post('/', (req, res) => {
    const b: unknown = req.body;
    if (!isRecord(b) || typeof b.perSecond !== 'number' || !(b.perSecond > 0) || (b.burst !== undefined && !(typeof b.burst === 'number' && b.burst >= 1))) {
      res.status(400).json({ error: 'ControlError', description: 'body: {"perSecond": number > 0, "burst"?: number >= 1}' });
      return;
    }
    enforcer.set({ perSecond: b.perSecond, burst: typeof b.burst === 'number' ? b.burst : undefined });
    res.json(enforcer.stats());
  });
  router.delete('/', (_req, res) => {
    enforcer.set(undefined);
    res.status(204).end();
  });
  router.post('/clear', (_req, res) => {
    enforcer.clearStats();
    res.status(204).end();
  });
  return router;
}
