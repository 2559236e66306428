/**
 * `dbs stats`' unique bytes: what forgetting one snapshot alone would free, i.e. the sealed
 * bytes of the blobs (trees, chunk lists, data chunks) that snapshot needs and no other does.
 * Pure over two ports: trees and chunk lists as the walk reaches them, and the index streamed
 * once for each blob's stored length.
 *
 * One table (ChunkIdSet with values) says for each blob which snapshot needs it, or MANY.
 * Snapshots share most of their trees, so a subtree is walked again only when a second
 * snapshot reaches it, to mark it and everything below it MANY, and never after that:
 * invariant, a tree marked MANY has everything below it marked MANY. Each tree is read at most
 * twice; memory is the table (~70 bytes a blob) and the walk's current path.
 */
import type { LoadBlob } from '../snapshot/ports.js';
import { decodeChunkList } from '../snapshot/tree-format.js';
import type { LoadTree } from '../snapshot/tree-walker.js';
import { ChunkIdSet } from './chunk-set.js';

/** Owner value of a blob more than one snapshot needs. */
const MANY = -1;

export interface UniqueBlobPorts {
  loadTree: LoadTree;
  /** Reads chunk-list blobs. */
  loadBlob: LoadBlob;
  /** Every index entry, once each (the blob's sealed length). */
  entries: () => Iterable<{ chunk: Uint8Array; length: number }> | AsyncIterable<{ chunk: Uint8Array; length: number }>;
}

/** The unique bytes of each snapshot whose root tree is `roots[i]`, in the same order. */
export async function uniqueBytes(roots: readonly Uint8Array[], ports: UniqueBlobPorts): Promise<number[]> {
  const owners = new ChunkIdSet(32, 0, true);
  // 'walk': walk below it as `who`; 'many': walk below it marking MANY; null: nothing to do.
  const claim = (id: Uint8Array, who: number): 'walk' | 'many' | null => {
    const owner = owners.value(id);
    if (owner === undefined) {
      owners.setValue(id, who);
      return who === MANY ? 'many' : 'walk';
    }
    if (owner === who || owner === MANY) return null;
    owners.setValue(id, MANY);
    return 'many';
  };
  const visit = async (tree: Uint8Array, who: number): Promise<void> => {
    const how = claim(tree, who);
    if (!how) return;
    const as = how === 'many' ? MANY : who;
    for (const node of await ports.loadTree(tree)) {
      if (node.type === 'dir') await visit(node.subtree!, as);
      if (node.type !== 'file') continue;
      for (const id of node.chunks ?? []) claim(id, as);
      for (const list of node.chunkLists ?? []) {
        const listHow = claim(list, as);
        if (!listHow) continue;
        const listAs = listHow === 'many' ? MANY : as;
        for (const id of decodeChunkList(await ports.loadBlob(list))) claim(id, listAs);
      }
    }
  };
  for (let i = 0; i < roots.length; i++) await visit(roots[i]!, i);
  const bytes = roots.map(() => 0);
  for await (const e of ports.entries()) {
    const owner = owners.value(e.chunk);
    if (owner !== undefined && owner !== MANY) bytes[owner]! += e.length;
  }
  return bytes;
}
