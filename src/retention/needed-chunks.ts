/**
 * The set prune plans against: every blob the kept snapshots need (their tree blobs, chunk-list
 * blobs and data chunks), collected by walking their trees (src/snapshot/tree-walker.ts). A
 * subtree or chunk list already in the set is not read again, so snapshots that share most of
 * their trees (the usual case: each backup changes a few directories) cost one walk of what is
 * unique to each. Memory: the set plus the walk's current path.
 */
import type { LoadBlob } from '../snapshot/ports.js';
import { decodeChunkList } from '../snapshot/tree-format.js';
import { type LoadTree, walkTree } from '../snapshot/tree-walker.js';
import type { ChunkIdSet } from './chunk-set.js';

export interface NeededChunksPorts {
  loadTree: LoadTree;
  /** Reads chunk-list blobs. */
  loadBlob: LoadBlob;
}

export interface NeededChunksStats {
  treesRead: number;
  chunkListsRead: number;
}

/** Adds to `needed` every blob the snapshots with these root trees need; returns what it read. */
export async function collectNeededChunks(roots: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, ports: NeededChunksPorts, needed: ChunkIdSet): Promise<NeededChunksStats> {
  const stats: NeededChunksStats = { treesRead: 0, chunkListsRead: 0 };
  const loadTree: LoadTree = (id) => {
    stats.treesRead++;
    return ports.loadTree(id);
  };
  for await (const root of roots) {
    if (!needed.add(root)) continue; // the same tree as a snapshot already walked
    // A directory whose subtree is already in the set was walked with an earlier snapshot.
    for await (const { node } of walkTree(root, loadTree, { descend: (e) => needed.add(e.node.subtree!) })) {
      if (node.type !== 'file') continue;
      for (const id of node.chunks ?? []) needed.add(id);
      for (const list of node.chunkLists ?? []) {
        if (!needed.add(list)) continue;
        stats.chunkListsRead++;
        for (const id of decodeChunkList(await ports.loadBlob(list))) needed.add(id);
      }
    }
  }
  return stats;
}
