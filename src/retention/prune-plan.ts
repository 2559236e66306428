/**
 * Prune planning from the index alone (no shard is downloaded to plan): which shards no kept
 * snapshot needs (cancel their contracts), which to repack (their needed chunks rewritten into
 * new full shards, placed before the old ones are cancelled), and the bytes of each. restic's
 * prune rules (PR #2718, `--max-unused`), on this project's shards. Pure.
 *
 * Memory is bounded by design: the index is read one shard at a time through the `PruneIndex`
 * port; what stays is the needed-chunk set (ChunkIdSet, ~64 MiB for a million chunks) and one
 * small record per shard to repack. No per-chunk object is ever made.
 *
 * Rules:
 * - a shard holding no needed chunk is dropped;
 * - a chunk found in a second shard is a duplicate: that copy is unused;
 * - shards with unused bytes are repacked, most unused first, until what stays unused is at
 *   most `maxUnusedPercent` of what stays stored (restic's formula);
 * - fully used shards smaller than `smallShardBytes` are repacked together when there are at
 *   least two of them (one alone would come out as small as it went in);
 * - if a needed chunk is in no shard of the index, the plan says so (`missingChunks`) and a
 *   caller must not prune: the index is incomplete or a snapshot is damaged.
 */
import type { ChunkIdSet } from './chunk-set.js';
import { PRUNE_DEFAULTS } from './constants.js';

/** One shard as the index knows it: its chunks with their stored (sealed) lengths. */
export interface IndexedShard {
  hash: Uint8Array;
  /** Bytes on each host. */
  size: number;
  chunks: Iterable<{ id: Uint8Array; length: number }>;
}

/** The narrow port prune plans against: every shard of the owner's index, one at a time. */
export interface PruneIndex {
  shards(): AsyncIterable<IndexedShard>;
}

export interface ShardVerdict {
  hash: Uint8Array;
  size: number;
  usedBytes: number;
  unusedBytes: number;
}

export interface PrunePlan {
  /** Shards with nothing needed: cancel their contracts. */
  drop: ShardVerdict[];
  /** Shards whose needed chunks move into new shards first. */
  repack: Array<ShardVerdict & { reason: 'unused' | 'small' }>;
  totals: {
    shards: number;
    /** Bytes of all shards (once; hosts hold `replicas` times this). */
    bytes: number;
    usedBytes: number;
    unusedBytes: number;
    dropBytes: number;
    /** Needed bytes rewritten into new shards. */
    repackUsedBytes: number;
    /** Unused bytes freed by repacking. */
    repackUnusedBytes: number;
    /** Unused bytes left on hosts after the plan. */
    unusedAfter: number;
    keptShards: number;
  };
  /** Needed chunks no shard holds: nothing may be pruned while this is not 0. */
  missingChunks: number;
}

export interface PrunePlanOptions {
  maxUnusedPercent?: number;
  smallShardBytes?: number;
}

export class PruneError extends Error {
  constructor(readonly code: 'BAD_PRUNE_OPTION', message: string) {
    super(message);
    this.name = 'PruneError';
  }
}

export async function planPrune(index: PruneIndex, needed: ChunkIdSet, options: PrunePlanOptions = {}): Promise<PrunePlan> {
  const maxUnused = options.maxUnusedPercent ?? PRUNE_DEFAULTS.maxUnusedPercent;
  const small = options.smallShardBytes ?? PRUNE_DEFAULTS.smallShardBytes;
  if (!(maxUnused >= 0 && maxUnused < 100)) throw new PruneError('BAD_PRUNE_OPTION', `--max-unused must be a percentage from 0 to below 100 (got ${maxUnused})`);
  const plan: PrunePlan = {
    drop: [], repack: [], missingChunks: 0,
    totals: { shards: 0, bytes: 0, usedBytes: 0, unusedBytes: 0, dropBytes: 0, repackUsedBytes: 0, repackUnusedBytes: 0, unusedAfter: 0, keptShards: 0 },
  };
  const partlyUsed: ShardVerdict[] = [];
  let dropUnused = 0;
  const smallFull: ShardVerdict[] = [];
  for await (const shard of index.shards()) {
    let used = 0;
    let unused = 0;
    for (const c of shard.chunks) {
      if (needed.markSeen(c.id) === 'first') used += c.length;
      else unused += c.length;
    }
    // Chunk bytes only: a shard's own framing is neither, and goes with the shard.
    const verdict: ShardVerdict = { hash: shard.hash, size: shard.size, usedBytes: used, unusedBytes: unused };
    plan.totals.shards++;
    plan.totals.bytes += shard.size;
    plan.totals.usedBytes += used;
    plan.totals.unusedBytes += unused;
    if (used === 0) {
      plan.drop.push(verdict);
      plan.totals.dropBytes += shard.size;
      dropUnused += unused;
    } else if (unused > 0) partlyUsed.push(verdict);
    else if (shard.size < small) smallFull.push(verdict);
  }
  plan.missingChunks = needed.unseen();

  // restic: unused/(used+unused) ≤ p  ⇔  unused ≤ used·p/(100−p).
  const allowed = (plan.totals.usedBytes * maxUnused) / (100 - maxUnused);
  let unusedLeft = plan.totals.unusedBytes - dropUnused;
  partlyUsed.sort((a, b) => b.unusedBytes / b.size - a.unusedBytes / a.size || b.unusedBytes - a.unusedBytes);
  for (const s of partlyUsed) {
    if (unusedLeft <= allowed) {
      if (s.size < small) smallFull.push(s);
      continue;
    }
    plan.repack.push({ ...s, reason: 'unused' });
    unusedLeft -= s.unusedBytes;
  }
  if (smallFull.length >= 2) {
    for (const s of smallFull) {
      plan.repack.push({ ...s, reason: 'small' });
      unusedLeft -= s.unusedBytes;
    }
  }
  for (const r of plan.repack) {
    plan.totals.repackUsedBytes += r.usedBytes;
    plan.totals.repackUnusedBytes += r.unusedBytes;
  }
  plan.totals.unusedAfter = unusedLeft;
  plan.totals.keptShards = plan.totals.shards - plan.drop.length - plan.repack.length;
  return plan;
}
