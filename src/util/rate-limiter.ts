/**
 * Token buckets keyed by source, plus one bucket for all sources together. The number of
 * sources tracked is bounded; the least recently active are forgotten first, so a flood of
 * forged source addresses cannot push an active flooder out and hand it a fresh burst.
 */
import type { Clock } from './clock.js';

export interface RateLimit {
  /** Sustained requests per second allowed from one source. */
  perSecond: number;
  /** Requests a source may send in a burst before the sustained rate applies. */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly total: Bucket;

  constructor(
    private readonly limit: RateLimit,
    private readonly clock: Clock,
    private readonly maxSources = 10_000,
    /** Limit for all sources together (default: 20 sources' worth). */
    private readonly overall: RateLimit = { perSecond: limit.perSecond * 20, burst: limit.burst * 20 },
  ) {
    this.total = { tokens: overall.burst, at: clock.now() };
  }

  /** Takes one token for `source` (and one from the overall bucket); false when over either rate. */
  take(source: string): boolean {
    const now = this.clock.now();
    let bucket = this.buckets.get(source);
    if (bucket) {
      // Re-inserting keeps the map in least-recently-active order.
      this.buckets.delete(source);
      refill(bucket, now, this.limit);
    } else {
      if (this.buckets.size >= this.maxSources) this.evictOldest();
      bucket = { tokens: this.limit.burst, at: now };
    }
    this.buckets.set(source, bucket);
    refill(this.total, now, this.overall);
    if (bucket.tokens < 1 || this.total.tokens < 1) return false;
    bucket.tokens -= 1;
    this.total.tokens -= 1;
    return true;
  }

  get trackedSources(): number {
    return this.buckets.size;
  }

  private evictOldest(): void {
    // Dropping the least active tenth at once keeps eviction amortised O(1).
    const drop = Math.max(1, Math.floor(this.maxSources / 10));
    let i = 0;
    for (const key of this.buckets.keys()) {
      if (i++ >= drop) break;
      this.buckets.delete(key);
    }
  }
}

function refill(bucket: Bucket, now: number, limit: RateLimit): void {
  // A clock that steps back refills nothing rather than draining honest sources.
  const elapsed = Math.max(0, now - bucket.at);
  bucket.tokens = Math.min(limit.burst, bucket.tokens + (elapsed / 1000) * limit.perSecond);
  bucket.at = Math.max(bucket.at, now);
}
