/**
 * Reads a snapshot back from its root tree, directory by directory: what restore, ls, find and
 * diff are built on. Only the listings of the directories on the current path are in memory
 * (depth × largest directory), each loaded when the walk reaches it.
 */
import type { LoadBlob } from './ports.js';
import { decodeChunkList, decodeTree, type TreeNode } from './tree-format.js';

/** Loads and decodes one tree blob (typically `decodeTree(await loadBlob(id))`, maybe cached). */
export type LoadTree = (id: Uint8Array) => Promise<TreeNode[]>;

/** A `LoadTree` from a blob loader: decodes and validates every tree it reads. */
export function treeLoader(loadBlob: LoadBlob): LoadTree {
  return async (id) => decodeTree(await loadBlob(id));
}

export interface WalkedEntry {
  /** '/'-separated, relative to the snapshot's root; never empty. */
  path: string;
  node: TreeNode;
}

export interface WalkOptions {
  /** Leave out a directory's contents (it is still yielded) when this returns false. */
  descend?: (entry: WalkedEntry) => boolean;
}

/**
 * Every entry under the tree `rootId` in depth-first order, a directory right before its
 * contents, names sorted within each directory. A restore creates each directory when it is
 * yielded and sets its mode and times once the walk has left it (the next entry's path is not
 * under it).
 */
export async function* walkTree(rootId: Uint8Array, loadTree: LoadTree, options: WalkOptions = {}, prefix = ''): AsyncGenerator<WalkedEntry> {
  const nodes = await loadTree(rootId);
  for (const node of nodes) {
    const entry = { path: prefix ? `${prefix}/${node.name}` : node.name, node };
    yield entry;
    if (node.type === 'dir' && (options.descend?.(entry) ?? true)) yield* walkTree(node.subtree!, loadTree, options, entry.path);
  }
}

/** A file node's chunk IDs in order, reading its chunk-list blobs one at a time if it has them. */
export async function* fileChunkIds(node: TreeNode, loadBlob: LoadBlob): AsyncGenerator<Uint8Array> {
  if (node.type !== 'file') throw new Error(`"${node.name}" is a ${node.type}, not a file`);
  if (node.chunks) {
    yield* node.chunks;
    return;
  }
  for (const list of node.chunkLists!) yield* decodeChunkList(await loadBlob(list));
}
