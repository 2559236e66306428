/**
 * Restore and repair plans for erasure-coded shards. Pure: no I/O, no timers. The caller
 * (the backup engine) fetches, times, uploads and places; these decide what to do next.
 *
 * - `PieceFetchRace`: which pieces to ask for. Starts K + extra requests at once (Storj's long
 *   tail cancellation: the K that answer first win, the slow ones are cancelled), starts a
 *   reserve for each failure or slow request, and says when the shard is lost.
 * - `repairThreshold` / `planRepair`: when a shard needs repair and what it costs.
 * - `pickHosts`: distinct hosts for new pieces, spread over network prefixes.
 */
import { chooseSources } from './codec.js';
import { DEFAULTS } from './constants.js';
import { ErasureError } from './errors.js';
import { checkPieceIndex, checkScheme, type ErasureScheme } from './layout.js';

/** A piece the catalog knows a host for. */
export interface PieceHolder {
  index: number;
  /** Lower is asked first (say, a host's recent latency or failures); default 0. */
  rank?: number;
}

export type FetchStatus = 'fetching' | 'done' | 'lost';

/** What the caller does after an event: start these requests, cancel those. */
export interface FetchActions {
  start: number[];
  cancel: number[];
  status: FetchStatus;
}

/**
 * A race for K pieces of one shard. Call `begin` once, then report every outcome; each call
 * returns what to start and cancel. A piece counts as arrived only once it passed its Merkle
 * root check (report a bad one as failed). Once K have arrived, the rest are cancelled.
 */
export class PieceFetchRace {
  private readonly reserve: number[];
  private readonly inFlight = new Set<number>();
  private readonly got: number[] = [];
  private readonly slow = new Set<number>();
  private status: FetchStatus = 'fetching';
  private readonly scheme: ErasureScheme;

  constructor(
    scheme: ErasureScheme,
    holders: readonly PieceHolder[],
    private readonly extra: number = DEFAULTS.extraFetches,
  ) {
    this.scheme = checkScheme(scheme);
    if (!Number.isInteger(extra) || extra < 0) throw new ErasureError('BAD_PARAMETERS', `extra fetches ${extra}: need a whole number >= 0`);
    const seen = new Set<number>();
    const order: PieceHolder[] = [];
    for (const h of holders) {
      checkPieceIndex(this.scheme, h.index);
      if (!seen.has(h.index)) order.push(h);
      seen.add(h.index);
    }
    // Fastest hosts first; among equals data pieces (nothing to decode), then by index.
    order.sort((a, b) => (a.rank ?? 0) - (b.rank ?? 0) || Number(a.index >= this.scheme.k) - Number(b.index >= this.scheme.k) || a.index - b.index);
    this.reserve = order.map((h) => h.index);
  }

  /** The first requests: K + extra (or all there are). */
  begin(): FetchActions {
    return this.topUp(this.scheme.k + this.extra);
  }

  /** Piece `index` arrived and checked out. */
  arrived(index: number): FetchActions {
    if (!this.inFlight.delete(index) || this.status !== 'fetching') return this.actions([], []);
    this.got.push(index);
    if (this.got.length < this.scheme.k) return this.actions([], []);
    this.status = 'done';
    const cancel = [...this.inFlight];
    this.inFlight.clear();
    this.reserve.length = 0;
    return this.actions([], cancel);
  }

  /** Piece `index` failed: an error, a timeout, a refusal, or a failed Merkle check. */
  failed(index: number): FetchActions {
    if (!this.inFlight.delete(index) || this.status !== 'fetching') return this.actions([], []);
    this.slow.delete(index);
    return this.topUp(this.scheme.k + this.extra);
  }

  /**
   * Piece `index` is slow (the caller's timer): start one reserve beside it, without giving up
   * on it. Each request counts as slow once.
   */
  slowed(index: number): FetchActions {
    if (!this.inFlight.has(index) || this.slow.has(index) || this.status !== 'fetching') return this.actions([], []);
    this.slow.add(index);
    return this.topUp(this.scheme.k + this.extra + this.slow.size);
  }

  /** The pieces that arrived, in arrival order. */
  arrivedPieces(): number[] {
    return [...this.got];
  }

  private topUp(target: number): FetchActions {
    if (this.got.length + this.inFlight.size + this.reserve.length < this.scheme.k) {
      // Even if every request still out succeeded, K would not be reached.
      this.status = 'lost';
      const cancel = [...this.inFlight];
      this.inFlight.clear();
      this.reserve.length = 0;
      return this.actions([], cancel);
    }
    const start: number[] = [];
    while (this.got.length + this.inFlight.size < target && this.reserve.length > 0) {
      const next = this.reserve.shift()!;
      this.inFlight.add(next);
      start.push(next);
    }
    return this.actions(start, []);
  }

  private actions(start: number[], cancel: number[]): FetchActions {
    return { start, cancel, status: this.status };
  }
}

/**
 * Live pieces at or below which a shard is repaired: K + ceil((N − K) / 2), at most N − 1.
 * Why: repair takes time (noticing a host is gone takes an audit grace period, then K pieces
 * are downloaded and the lost ones re-uploaded), and hosts can fail meanwhile, so half the
 * parity is kept as the margin for that window. Waiting past the first loss only pays when
 * there is parity to spare: one repair downloads K pieces however many it rebuilds, so 10/16
 * repairing 3 pieces at once downloads 10 pieces instead of 30. For the small schemes of a
 * friends' network (2/4, 3/6, 4/6, replicas) it comes to repairing at the first loss. With
 * K = N any loss is fatal unless the owner still has the shard, so it is N − 1.
 */
export function repairThreshold(scheme: ErasureScheme): number {
  const { k, n } = checkScheme(scheme);
  return Math.min(n - 1, k + Math.ceil((n - k) / 2));
}

export interface RepairInput {
  scheme: ErasureScheme;
  /** Pieces on hosts that are alive and passed their last audit. */
  live: readonly number[];
  /** Bytes of each piece. */
  pieceSize: number;
  /** Whether the owner still has the shard itself (then nothing need be downloaded). */
  localCopy: boolean;
  /** Overrides `repairThreshold(scheme)`. */
  threshold?: number;
}

export interface RepairPlan {
  action: 'none' | 'repair' | 'lost';
  /** Pieces to rebuild and place on new hosts (every missing one, back to N). */
  rebuild: number[];
  /** K live pieces to download and decode from, or 'local' to encode from the owner's copy. */
  sources: number[] | 'local';
  /** Bytes the repair downloads and uploads. */
  downloadBytes: number;
  uploadBytes: number;
}

export function planRepair(input: RepairInput): RepairPlan {
  const scheme = checkScheme(input.scheme);
  const live = [...new Set(input.live)].sort((a, b) => a - b);
  for (const i of live) checkPieceIndex(scheme, i);
  const threshold = input.threshold ?? repairThreshold(scheme);
  const rebuild = Array.from({ length: scheme.n }, (_, i) => i).filter((i) => !live.includes(i));
  const none: RepairPlan = { action: 'none', rebuild: [], sources: [], downloadBytes: 0, uploadBytes: 0 };
  if (rebuild.length === 0 || live.length > threshold) return none;
  const uploadBytes = rebuild.length * input.pieceSize;
  if (input.localCopy) return { action: 'repair', rebuild, sources: 'local', downloadBytes: 0, uploadBytes };
  if (live.length < scheme.k) return { ...none, action: 'lost', rebuild };
  return { action: 'repair', rebuild, sources: chooseSources(live, scheme.k), downloadBytes: scheme.k * input.pieceSize, uploadBytes };
}

/** A host that could take a piece. */
export interface HostCandidate {
  /** The host's public key, hex (or any unique name). */
  host: string;
  /** Its network prefix (contracts/policy.ts `networkPrefix`). */
  prefix: string;
}

/**
 * Up to `count` hosts for new pieces of one shard: never a host that already keeps one of its
 * pieces (`taken`), never the same host twice, and hosts on prefixes the shard does not use yet
 * first (one network or provider going down then takes fewer pieces with it). Keeps the
 * candidates' order otherwise (the caller's preference).
 */
export function pickHosts(candidates: readonly HostCandidate[], count: number, taken: readonly HostCandidate[] = []): HostCandidate[] {
  const usedHosts = new Set(taken.map((t) => t.host));
  const usedPrefixes = new Set(taken.map((t) => t.prefix));
  const picked: HostCandidate[] = [];
  for (const pass of ['new prefix', 'any prefix'] as const) {
    for (const c of candidates) {
      if (picked.length >= count) return picked;
      if (usedHosts.has(c.host) || (pass === 'new prefix' && usedPrefixes.has(c.prefix))) continue;
      picked.push(c);
      usedHosts.add(c.host);
      usedPrefixes.add(c.prefix);
    }
  }
  return picked;
}
