/**
 * Token buckets keyed by source (an IP address), with a bound on how many sources are
 * tracked so a flood from many addresses cannot grow memory without limit.
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

  constructor(
    private readonly limit: RateLimit,
    private readonly clock: Clock,
    private readonly maxSources = 10_000,
  ) {}

  /** Takes one token for `source`; false when the source is over its rate. */
  take(source: string): boolean {
    const now = this.clock.now();
    let bucket = this.buckets.get(source);
    if (!bucket) {
      if (this.buckets.size >= this.maxSources) this.evictOldest();
      bucket = { tokens: this.limit.burst, at: now };
      this.buckets.set(source, bucket);
    } else {
      const refill = ((now - bucket.at) / 1000) * this.limit.perSecond;
      bucket.tokens = Math.min(this.limit.burst, bucket.tokens + refill);
      bucket.at = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  get trackedSources(): number {
    return this.buckets.size;
  }

  private evictOldest(): void {
    // Map iterates in insertion order; dropping the oldest tenth keeps eviction amortised O(1).
    const drop = Math.max(1, Math.floor(this.maxSources / 10));
    let i = 0;
    for (const key of this.buckets.keys()) {
      if (i++ >= drop) break;
      this.buckets.delete(key);
    }
  }
}
