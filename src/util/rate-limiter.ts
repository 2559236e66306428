/**
 * Request rate limits: a token bucket per source, and the overall budget shared fairly among
 * network prefixes (IPv4 /24, IPv6 /48: util/ip.ts prefixKey).
 *
 * Why per prefix. With one bucket for all sources together, a flood from more sources than the
 * overall budget holds (20 at full rate) took every token, and honest peers were dropped with
 * the flood. Now each prefix active in the last `activeWindowMs` gets an equal share of the
 * overall rate (and burst): a flood from many addresses of a few prefixes takes those prefixes'
 * shares, and any other prefix is still answered at up to overall / (active prefixes) per second,
 * which for a handful of flooding prefixes is far more than an honest peer sends. Shares sum to
 * the overall budget, so the peer's total work stays bounded as before.
 *
 * The tables are bounded; the least recently active entries are forgotten first, so a flood of
 * forged source addresses cannot push an active flooder out and hand it a fresh burst.
 */
import type { Clock } from './clock.js';
import { prefixKey } from './ip.js';

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

interface PrefixBucket extends Bucket {
  lastSeen: number;
}

/** A prefix that sent nothing for this long no longer takes a share (ms). */
export const ACTIVE_PREFIX_WINDOW_MS = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  /** Least recently active first. */
  private readonly prefixes = new Map<string, PrefixBucket>();

  constructor(
    private readonly limit: RateLimit,
    private readonly clock: Clock,
    private readonly maxSources = 10_000,
    /** Budget for all sources together, shared among active prefixes (default: 20 sources' worth). */
    private readonly overall: RateLimit = { perSecond: limit.perSecond * 20, burst: limit.burst * 20 },
    private readonly activeWindowMs = ACTIVE_PREFIX_WINDOW_MS,
    private readonly prefixOf: (source: string) => string = prefixKey,
  ) {}

  /** Takes one token for `source` and one from its prefix's share; false when over either. */
  take(source: string): boolean {
    const now = this.clock.now();
    const bucket = this.touch(this.buckets, source, now, () => ({ tokens: this.limit.burst, at: now }));
    refill(bucket, now, this.limit);
    this.expirePrefixes(now);
    const prefix = this.touch(this.prefixes, this.prefixOf(source), now, () => ({ tokens: this.overall.burst / (this.prefixes.size + 1), at: now, lastSeen: now }));
    prefix.lastSeen = now;
    const share = this.share();
    refill(prefix, now, share);
    if (bucket.tokens < 1 || prefix.tokens < 1) return false;
    bucket.tokens -= 1;
    prefix.tokens -= 1;
    return true;
  }

  /** One active prefix's rate and burst now. */
  share(): RateLimit {
    const n = Math.max(1, this.prefixes.size);
    return { perSecond: this.overall.perSecond / n, burst: Math.max(1, this.overall.burst / n) };
  }

  get trackedSources(): number {
    return this.buckets.size;
  }

  get activePrefixes(): number {
    return this.prefixes.size;
  }

  /** The entry for `key`, moved to the most recent end; created (evicting the oldest) if new. */
  private touch<T>(map: Map<string, T>, key: string, now: number, make: () => T): T {
    let entry = map.get(key);
    if (entry) map.delete(key);
    else {
      if (map.size >= this.maxSources) evictOldest(map, this.maxSources);
      entry = make();
    }
    map.set(key, entry);
    return entry;
  }

  private expirePrefixes(now: number): void {
    for (const [key, p] of this.prefixes) {
      if (now - p.lastSeen < this.activeWindowMs) break;
      this.prefixes.delete(key);
    }
  }
}

function evictOldest(map: Map<string, unknown>, max: number): void {
  // Dropping the least active tenth at once keeps eviction amortised O(1).
  const drop = Math.max(1, Math.floor(max / 10));
  let i = 0;
  for (const key of map.keys()) {
    if (i++ >= drop) break;
    map.delete(key);
  }
}

function refill(bucket: Bucket, now: number, limit: RateLimit): void {
  // A clock that steps back refills nothing rather than draining honest sources.
  const elapsed = Math.max(0, now - bucket.at);
  bucket.tokens = Math.min(limit.burst, bucket.tokens + (elapsed / 1000) * limit.perSecond);
  bucket.at = Math.max(bucket.at, now);
}
