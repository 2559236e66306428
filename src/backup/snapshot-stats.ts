/**
 * `dbs stats` / `peer.stats()`: what the snapshots hold and what it costs, from the local index
 * alone (no tree is read): source bytes per snapshot and in all, bytes stored once after
 * deduplication and compression (sealed chunks and blobs the index knows), the shards they are
 * packed in, and the bytes hosts hold for us counting every live replica.
 */
import type { BackupIndex } from './index-db.js';
import type { ReplicaLocator } from './replica-locator.js';

export interface SnapshotStats {
  snapshots: Array<{ id: string; createdAt: number; source: string; files: number; bytes: number; tags?: string[]; /** Stored bytes only this snapshot needs (`dbs stats`; `peer.uniqueBytes()`). */ uniqueBytes?: number }>;
  /** Sum of every snapshot's file bytes (what restoring them all would write). */
  sourceBytes: number;
  /** Sealed bytes of the distinct chunks and blobs indexed: after deduplication and compression. */
  storedBytes: number;
  /** Chunks and blobs indexed. */
  blobs: number;
  shards: number;
  /** Bytes of all shards, once each. */
  shardBytes: number;
  /** Bytes hosts keep for us: each shard's size times its live contracts. */
  hostBytes: number;
  contracts: number;
}

export function snapshotStats(index: Pick<BackupIndex, 'snapshots' | 'shards' | 'chunkTotals'>, locator: Pick<ReplicaLocator, 'liveContracts'>): SnapshotStats {
  const snapshots = index.snapshots().map(({ id, createdAt, source, files, bytes, tags }) => ({ id, createdAt, source, files, bytes, ...(tags ? { tags } : {}) }));
  const totals = index.chunkTotals();
  let shardBytes = 0;
  let hostBytes = 0;
  let contracts = 0;
  const shards = index.shards();
  for (const s of shards) {
    const live = locator.liveContracts(s.hash).length;
    shardBytes += s.size;
    hostBytes += s.size * live;
    contracts += live;
  }
  return { snapshots, sourceBytes: snapshots.reduce((n, s) => n + s.bytes, 0), storedBytes: totals.bytes, blobs: totals.count, shards: shards.length, shardBytes, hostBytes, contracts };
}
