import type { Clock } from '../lib/clock.ts';

/**
 * Per-client token buckets for the public broker: each client address gets `burst` requests at once and
 * `ratePerSecond` more every second. Pure bookkeeping with the clock passed in; `take` sits on the broker's
 * hot path (one Map lookup). Memory is bounded: past `maxClients` addresses, buckets that have refilled
 * completely (clients gone quiet) are dropped, which loses nothing.
 */
export interface RateLimiter {
  /** 0 when the request may go ahead (a token is taken), else the seconds until the next token (Retry-After). */
  take(client: string): number;
}

export function createRateLimiter(o: { ratePerSecond: number; burst: number; clock: Clock; maxClients?: number }): RateLimiter | undefined {
  if (o.ratePerSecond <= 0) return undefined;
  const { ratePerSecond: rate, burst, clock } = o;
  const max = o.maxClients ?? 100_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const prune = (now: number) => {
    for (const [k, b] of buckets) if (b.tokens + ((now - b.at) / 1000) * rate >= burst) buckets.delete(k);
  };
  return {
    take(client) {
      const now = clock.now();
      let b = buckets.get(client);
      if (!b) {
        if (buckets.size >= max) prune(now);
        b = { tokens: burst, at: now };
        buckets.set(client, b);
      } else {
        b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
        b.at = now;
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - b.tokens) / rate));
    },
  };
}

/** The documented burst: five seconds' worth of requests, at least 10. */
export const burstFor = (ratePerSecond: number) => Math.max(10, ratePerSecond * 5);
