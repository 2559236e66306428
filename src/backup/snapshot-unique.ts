/**
 * `dbs stats`' per-snapshot unique bytes (`peer.uniqueBytes()`): what forgetting each snapshot
 * alone would free, from the kept snapshots' trees (read as reached, from our shard copies or
 * downloaded into a temporary folder) and the index streamed a shard at a time for stored
 * lengths (src/retention/unique-blobs.ts). A walk like ls/find: it holds the browse gate, so a
 * prune's removal does not pull shards from under it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { uniqueBytes } from '../retention/unique-blobs.js';
import { decodeTree } from '../snapshot/tree-format.js';
import { BlobReader, cachedShardFiles } from './blob-reader.js';
import type { BackupIndex } from './index-db.js';
import type { BrowseDeps } from './snapshot-browse.js';

export type UniqueDeps = BrowseDeps & { index: Pick<BackupIndex, 'snapshots' | 'shard' | 'chunk' | 'shards' | 'chunksIn'> };

/** Snapshot ID → sealed bytes only it needs (trees, chunk lists and data chunks). */
export async function snapshotUniqueBytes(deps: UniqueDeps): Promise<Map<string, number>> {
  const { index } = deps;
  const leave = await deps.enter();
  try {
    const work = await fs.mkdtemp(path.join(deps.tmp, 'unique-'));
    try {
      const reader = new BlobReader(deps.keys, index, cachedShardFiles(deps.locator, index, work));
      const snapshots = index.snapshots().filter((s): s is typeof s & { root: Uint8Array } => s.root !== null);
      const bytes = await uniqueBytes(
        snapshots.map((s) => s.root),
        {
          loadTree: async (id) => decodeTree(await reader.load(id)),
          loadBlob: reader.load,
          entries: function* () {
            for (const s of index.shards()) yield* index.chunksIn(s.hash);
          },
        },
      );
      return new Map(snapshots.map((s, i) => [s.id, bytes[i]!]));
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  } finally {
    leave();
  }
}
