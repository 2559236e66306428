/**
 * When to hedge a piece request: which requests of one shard's race are slow enough that a
 * reserve piece should start beside them. Pure: the caller passes the clock's reading and
 * each request's progress, and starts (and later cancels) the requests.
 *
 * Slow means its time still to go, at its RECENT pace (over the last one to two rate windows),
 * is at least `slowFactor` times the whole duration of the fastest of the others (finished, or
 * projected; pieces of one shard all have the same size, so durations compare directly): a
 * reserve started now at that pace would end well before it. The recent pace, not the average
 * since the start: requests that share a bottleneck (the owner's line or CPU) slow each other
 * down, and the one left behind speeds up as soon as the others finish; only a request that
 * stays slow on its own (its host's line or disk) is worth a hedge, which would otherwise just
 * compete with it. A request that has gone silent is slow once its silence alone lasts
 * `slowFactor` times the others' whole duration (a host busy for a moment, a disk read queued
 * behind others, is not a dead host), or at `stallMs` when nothing gives a pace (every host silent).
 */
import { HEDGE } from './constants.js';

/** A reading of a request's byte count. */
export interface ProgressMark {
  at: number;
  bytes: number;
}

export interface RequestProgress {
  index: number;
  /** When it started (ms, the caller's clock). */
  startedAt: number;
  /** Bytes received so far. */
  bytes: number;
  /** The reading the recent pace is measured from (`updateMarks` keeps it one to two windows old). */
  mark: ProgressMark;
  /** The reading that becomes `mark` once it is a window old. */
  next: ProgressMark;
  /** When its byte count last grew (its start, before any byte). */
  lastByteAt: number;
}

export interface HedgePolicy {
  /** See HEDGE.slowFactor. */
  slowFactor: number;
  /** See HEDGE.minDelayMs. */
  minDelayMs: number;
  /** See HEDGE.rateWindowMs. */
  rateWindowMs: number;
  /** ms after which a request is slow whatever the others do (the last resort when nothing gives a pace). */
  stallMs: number;
}

export function hedgePolicy(over: Partial<HedgePolicy> & Pick<HedgePolicy, 'stallMs'>): HedgePolicy {
  return {
    slowFactor: over.slowFactor ?? HEDGE.slowFactor,
    minDelayMs: over.minDelayMs ?? HEDGE.minDelayMs,
    rateWindowMs: over.rateWindowMs ?? HEDGE.rateWindowMs,
    stallMs: over.stallMs,
  };
}

/** A new request's progress record, started at `now`. */
export function newProgress(index: number, now: number): RequestProgress {
  return { index, startedAt: now, bytes: 0, mark: { at: now, bytes: 0 }, next: { at: now, bytes: 0 }, lastByteAt: now };
}

/** Call at every look: moves the marks forward a window at a time (the recent pace spans one to two windows). */
export function updateMarks(r: RequestProgress, now: number, windowMs: number): void {
  if (now - r.next.at < windowMs) return;
  r.mark = r.next;
  r.next = { at: now, bytes: r.bytes };
}

/**
 * The requests in `running` that are slow at `now`. `finished` are the durations (ms) of the
 * requests of this shard that completed; `pieceSize` the bytes of every piece.
 */
export function slowRequests(running: readonly RequestProgress[], finished: readonly number[], pieceSize: number, now: number, policy: HedgePolicy): number[] {
  const toGo = running.map((r) => (now - r.mark.at < policy.rateWindowMs ? null : remainingMs(r, pieceSize, now)));
  const slow: number[] = [];
  running.forEach((r, i) => {
    const elapsed = now - r.startedAt;
    if (elapsed >= policy.stallMs) return void slow.push(r.index);
    const remaining = toGo[i];
    if (elapsed < policy.minDelayMs || remaining === null || remaining === undefined) return;
    const projected = running.flatMap((o, j) => (j !== i && toGo[j] != null ? [now - o.startedAt + toGo[j]!] : []));
    const others = [...finished, ...projected].filter((d) => Number.isFinite(d));
    if (others.length === 0) return;
    const enough = policy.slowFactor * Math.min(...others);
    const slowNow = Number.isFinite(remaining) ? remaining >= enough : now - r.lastByteAt >= enough;
    if (slowNow) slow.push(r.index);
  });
  return slow;
}

/** ms still to go at the pace since the request's mark; Infinity when nothing came since. */
function remainingMs(r: RequestProgress, pieceSize: number, now: number): number {
  if (r.bytes >= pieceSize) return 0;
  const gained = r.bytes - r.mark.bytes;
  if (gained <= 0) return Infinity;
  return ((pieceSize - r.bytes) * (now - r.mark.at)) / gained;
}
