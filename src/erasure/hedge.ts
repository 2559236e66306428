/**
 * When to hedge a piece request: which requests of one shard's race are slow enough that a
 * reserve piece should start beside them. Pure: the caller passes the clock's reading and
 * each request's progress, and starts (and later cancels) the requests.
 *
 * Slow means its remaining time, at its pace so far, is at least `slowFactor` times the whole
 * duration of the fastest of the others (finished or projected; pieces of one shard all have the
 * same size, so durations compare directly): a reserve started now at that pace would end well
 * before it. A request with no byte yet has forever to go: it is slow once another request gives
 * a pace, or at `stallMs` when none does (every host silent).
 */
import { HEDGE } from './constants.js';

export interface RequestProgress {
  index: number;
  /** When it started (ms, the caller's clock). */
  startedAt: number;
  /** Bytes received so far. */
  bytes: number;
}

export interface HedgePolicy {
  /** See HEDGE.slowFactor. */
  slowFactor: number;
  /** See HEDGE.minDelayMs. */
  minDelayMs: number;
  /** ms after which a request is slow whatever the others do (the last resort when nothing gives a pace). */
  stallMs: number;
}

export function hedgePolicy(over: Partial<HedgePolicy> & Pick<HedgePolicy, 'stallMs'>): HedgePolicy {
  return { slowFactor: over.slowFactor ?? HEDGE.slowFactor, minDelayMs: over.minDelayMs ?? HEDGE.minDelayMs, stallMs: over.stallMs };
}

/**
 * The requests in `running` that are slow at `now`. `finished` are the durations (ms) of the
 * requests of this shard that completed; `pieceSize` the bytes of every piece.
 */
export function slowRequests(running: readonly RequestProgress[], finished: readonly number[], pieceSize: number, now: number, policy: HedgePolicy): number[] {
  const projected = running.map((r) => projectedMs(r, pieceSize, now, policy.minDelayMs));
  const slow: number[] = [];
  running.forEach((r, i) => {
    const elapsed = now - r.startedAt;
    if (elapsed >= policy.stallMs) return void slow.push(r.index);
    if (elapsed < policy.minDelayMs) return;
    const others = [...finished, ...projected.filter((_, j) => j !== i)].filter((d) => Number.isFinite(d));
    if (others.length === 0) return;
    const pace = Math.min(...others);
    if (projected[i]! - elapsed >= policy.slowFactor * pace) slow.push(r.index);
  });
  return slow;
}

/**
 * How long a request will take in all, from its pace so far; Infinity before any byte, or
 * before `minDelayMs` (too early for its pace to mean anything) unless it is already done.
 */
function projectedMs(r: RequestProgress, pieceSize: number, now: number, minDelayMs: number): number {
  const elapsed = Math.max(0, now - r.startedAt);
  if (r.bytes <= 0) return pieceSize === 0 ? elapsed : Infinity;
  if (r.bytes >= pieceSize) return elapsed;
  if (elapsed < minDelayMs) return Infinity;
  return (elapsed * pieceSize) / r.bytes;
}
