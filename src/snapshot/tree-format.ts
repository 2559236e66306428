/**
 * Tree blobs: one directory's listing, sealed and content-addressed like a data chunk, so a
 * directory that did not change encodes to the same bytes, gets the same ID and is stored once.
 * A snapshot names its root tree; each directory entry names its subtree.
 *
 * Blob: `{ v: 1, k: 'tree', n: [node, ...] }`, nodes sorted by `compareNames`, names unique.
 * A node is a fixed-position list (small, and one encoding per listing):
 *   [name, type, mode, mtimeMs, ctimeMs, inode, dev, size, target, chunks, chunkLists, subtree]
 * with type 0 file, 1 dir, 2 symlink, and the last four null unless the type uses them:
 * - file: `chunks` — its chunk IDs concatenated (32 B each, at most `inlineChunkIds`), or
 *   `chunkLists` — IDs of chunk-list blobs (`{ v: 1, k: 'chunks', c: ids }`) holding them, in order;
 * - dir: `subtree` — the ID of its own tree blob;
 * - symlink: `target` — the link text, never followed.
 * ctime, inode and dev are kept for the files cache (tree-builder.ts), not restored.
 */
import { array, bytes, finite, malformed, nullable, string, uint } from './check.js';
import { ID_BYTES, MAX_NAME_LENGTH, MAX_TARGET_LENGTH } from './constants.js';
import { open, seal } from './envelope.js';

export type NodeType = 'file' | 'dir' | 'symlink';

/** One entry of a directory listing. */
export interface TreeNode {
  /** One path component: not empty, no '/', no NUL, not '.' or '..'. */
  name: string;
  type: NodeType;
  mode: number;
  mtimeMs: number;
  ctimeMs: number;
  inode: number;
  dev: number;
  /** Bytes (files); what lstat said for others. */
  size: number;
  /** Symlinks only. */
  target?: string;
  /** Files only, when it has at most `inlineChunkIds` chunks. */
  chunks?: Uint8Array[];
  /** Files only, otherwise: the chunk-list blobs' IDs, in order. */
  chunkLists?: Uint8Array[];
  /** Directories only. */
  subtree?: Uint8Array;
}

const TYPE_CODES: Record<NodeType, number> = { file: 0, dir: 1, symlink: 2 };
const TYPES: NodeType[] = ['file', 'dir', 'symlink'];

/**
 * The one order of names in a listing (UTF-16 code units, as JavaScript compares strings).
 * Builder, walker and diff all merge sorted listings with it.
 */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Encodes a listing; throws MALFORMED if it is not sorted, has duplicates or a bad node. */
export function encodeTree(nodes: readonly TreeNode[]): Uint8Array {
  const out: unknown[] = new Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    if (i > 0 && compareNames(nodes[i - 1]!.name, node.name) >= 0) throw malformed(`tree names out of order or repeated at "${node.name}"`);
    checkNode(node);
    out[i] = [
      node.name,
      TYPE_CODES[node.type],
      node.mode,
      node.mtimeMs,
      node.ctimeMs,
      node.inode,
      node.dev,
      node.size,
      node.target ?? null,
      node.chunks ? Buffer.concat(node.chunks) : null,
      node.chunkLists ?? null,
      node.subtree ?? null,
    ];
  }
  return seal('tree', { n: out });
}

/** Decodes and validates a tree blob; any fault is a SnapshotFormatError. */
export function decodeTree(data: Uint8Array): TreeNode[] {
  const raw = array(open(data, 'tree').n, 'tree node list');
  const nodes: TreeNode[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const node = decodeNode(raw[i], i);
    if (i > 0 && compareNames(nodes[i - 1]!.name, node.name) >= 0) throw malformed(`tree names out of order or repeated at "${node.name}"`);
    nodes[i] = node;
  }
  return nodes;
}

function decodeNode(v: unknown, i: number): TreeNode {
  const f = array(v, `tree node ${i}`);
  if (f.length !== 12) throw malformed(`tree node ${i} has ${f.length} fields, not 12`);
  const type = TYPES[uint(f[1], `type of node ${i}`)];
  if (!type) throw malformed(`node ${i} has an unknown type ${String(f[1])}`);
  const node: TreeNode = {
    name: string(f[0], `name of node ${i}`, MAX_NAME_LENGTH),
    type,
    mode: uint(f[2], `mode of node ${i}`),
    mtimeMs: finite(f[3], `mtime of node ${i}`),
    ctimeMs: finite(f[4], `ctime of node ${i}`),
    inode: uint(f[5], `inode of node ${i}`),
    dev: uint(f[6], `device of node ${i}`),
    size: uint(f[7], `size of node ${i}`),
  };
  const target = nullable(f[8], (t) => string(t, `target of node ${i}`, MAX_TARGET_LENGTH));
  const inline = nullable(f[9], (c) => bytes(c, `chunk IDs of node ${i}`));
  const lists = nullable(f[10], (l) => array(l, `chunk lists of node ${i}`).map((id, j) => bytes(id, `chunk list ${j} of node ${i}`, ID_BYTES)));
  const subtree = nullable(f[11], (s) => bytes(s, `subtree of node ${i}`, ID_BYTES));
  if (target !== null) node.target = target;
  if (inline !== null) {
    if (inline.length % ID_BYTES !== 0) throw malformed(`chunk IDs of node ${i} are not a whole number of IDs`);
    node.chunks = [];
    for (let off = 0; off < inline.length; off += ID_BYTES) node.chunks.push(inline.subarray(off, off + ID_BYTES));
  }
  if (lists !== null) node.chunkLists = lists;
  if (subtree !== null) node.subtree = subtree;
  checkNode(node);
  return node;
}

/** The fields each type must and must not have (shared by encoder and decoder). */
function checkNode(node: TreeNode): void {
  const { name } = node;
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || /[/\0]/.test(name) || name.length > MAX_NAME_LENGTH) {
    throw malformed(`bad entry name ${JSON.stringify(String(name).slice(0, 64))}`);
  }
  const has = { target: node.target !== undefined, chunks: node.chunks !== undefined, chunkLists: node.chunkLists !== undefined, subtree: node.subtree !== undefined };
  const wanted =
    node.type === 'file'
      ? has.chunks !== has.chunkLists && !has.target && !has.subtree
      : node.type === 'dir'
        ? has.subtree && !has.target && !has.chunks && !has.chunkLists
        : has.target && !has.chunks && !has.chunkLists && !has.subtree;
  if (!wanted) throw malformed(`${node.type} "${name}" has the wrong fields (${Object.keys(has).filter((k) => has[k as keyof typeof has]).join(', ') || 'none'})`);
  for (const id of node.chunks ?? []) if (id.length !== ID_BYTES) throw malformed(`a chunk ID of "${name}" is not ${ID_BYTES} bytes`);
}

/** A chunk-list blob: `{ v: 1, k: 'chunks', c: concatenated IDs }`. */
export function encodeChunkList(ids: readonly Uint8Array[]): Uint8Array {
  for (const id of ids) if (id.length !== ID_BYTES) throw malformed(`a chunk ID is not ${ID_BYTES} bytes`);
  return seal('chunks', { c: Buffer.concat(ids) });
}

export function decodeChunkList(data: Uint8Array): Uint8Array[] {
  const all = bytes(open(data, 'chunks').c, 'chunk list');
  if (all.length % ID_BYTES !== 0) throw malformed('chunk list is not a whole number of IDs');
  const ids: Uint8Array[] = [];
  for (let off = 0; off < all.length; off += ID_BYTES) ids.push(all.subarray(off, off + ID_BYTES));
  return ids;
}
