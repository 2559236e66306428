/**
 * Looking inside snapshots without restoring them: `dbs ls`, `dbs diff`, `dbs find`, `dbs stats`
 * (and `peer.ls` / `diff` / `stats`). Trees are read as the walk reaches them (tree-walker,
 * tree-diff: an unchanged subtree is skipped unread), from our shard copies or, failing that,
 * downloaded into a temporary folder removed when the walk ends; nothing holds a whole
 * snapshot. Results are async iterators, so a caller can stop early. They run beside backups
 * and restores (they only read), like the web page's browser (snapshot-browse.ts), and beside
 * a prune: each walk holds the browse gate (browse-gate.ts) from its start to its end, so it
 * reads the index as it was before the prune's removal or after it, never half of each.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import ignore from 'ignore';
import { SnapshotFormatError } from '../snapshot/errors.js';
import { decodeTree, type TreeNode } from '../snapshot/tree-format.js';
import { diffTrees, type TreeChangeKind } from '../snapshot/tree-diff.js';
import { type LoadTree, walkTree } from '../snapshot/tree-walker.js';
import { toHex } from '../util/bytes.js';
import { BlobReader, cachedShardFiles } from './blob-reader.js';
import type { BrowseDeps, SnapshotEntryInfo } from './snapshot-browse.js';
import { SnapshotBrowseError } from './browse-errors.js';
import type { SnapshotRow } from './index-db.js';

export interface LsOptions {
  /** Everything below the folder, depth first (default: the folder's own entries). */
  recursive?: boolean;
}

export interface SnapshotChange {
  kind: TreeChangeKind;
  path: string;
  /** The entry's type after the change (before it, for `removed`). */
  type: TreeNode['type'];
  /** `changed`: the contents differ ('content'), or only mode or times ('metadata'). */
  what?: 'content' | 'metadata';
  sizeBefore?: number;
  sizeAfter?: number;
}

export interface FoundEntry extends SnapshotEntryInfo {
  snapshot: string;
}

/** A walk's tree loader over a temporary folder for downloads, inside the browse gate; `close` leaves both. */
async function openTrees(deps: BrowseDeps): Promise<{ loadTree: LoadTree; close: () => Promise<void> }> {
  const leave = await deps.enter();
  try {
    const work = await fs.mkdtemp(path.join(deps.tmp, 'query-'));
    const shardFile = cachedShardFiles(deps.locator, deps.index, work);
    const reader = new BlobReader(deps.keys, deps.index, shardFile);
    return { loadTree: async (id) => decodeTree(await reader.load(id)), close: () => fs.rm(work, { recursive: true, force: true }).finally(leave) };
  } catch (err) {
    leave();
    throw err;
  }
}

function snapshotRow(deps: BrowseDeps, id: string): SnapshotRow & { root: Uint8Array } {
  const s = deps.index.snapshots().find((x) => x.id === id);
  if (!s) throw new SnapshotBrowseError('UNKNOWN_SNAPSHOT', `unknown snapshot ${id}`);
  if (!s.root) throw new SnapshotFormatError('LEGACY_SNAPSHOT', `snapshot ${id} was written in the first format, which this version does not read`);
  return s as SnapshotRow & { root: Uint8Array };
}

function entryInfo(p: string, n: TreeNode): SnapshotEntryInfo {
  return { name: n.name, path: p, type: n.type, size: n.type === 'file' ? n.size : 0, mtimeMs: n.mtimeMs, mode: n.mode, ...(n.target !== undefined ? { target: n.target } : {}) };
}

/** The tree ID of folder `dir` in the snapshot (its root for ''), reading one listing per component. */
async function folderTree(loadTree: LoadTree, snapshot: SnapshotRow & { root: Uint8Array }, dir: string): Promise<Uint8Array> {
  let tree = snapshot.root;
  for (const part of dir ? dir.split('/') : []) {
    const node = (await loadTree(tree)).find((n) => n.name === part);
    if (!node) throw new SnapshotBrowseError('NO_PATH', `no path "${dir}" in snapshot ${snapshot.id}`);
    if (node.type !== 'dir') throw new SnapshotBrowseError('NOT_A_FOLDER', `"${dir}" in snapshot ${snapshot.id} is a ${node.type}, not a folder`);
    tree = node.subtree!;
  }
  return tree;
}

/** The entries of `dir` (a folder of the snapshot; '' its root), in name order; `recursive`: all below it. */
export async function* lsSnapshot(deps: BrowseDeps, snapshotId: string, dir = '', opts: LsOptions = {}): AsyncGenerator<SnapshotEntryInfo> {
  const prefix = dir.replace(/^\/+|\/+$/g, '');
  const trees = await openTrees(deps);
  try {
    const snapshot = snapshotRow(deps, snapshotId);
    const tree = await folderTree(trees.loadTree, snapshot, prefix);
    for await (const e of walkTree(tree, trees.loadTree, { descend: () => opts.recursive === true }, prefix)) yield entryInfo(e.path, e.node);
  } finally {
    await trees.close();
  }
}

/** What changed from snapshot `a` to snapshot `b`, in path order; unchanged folders are not read. */
export async function* diffSnapshots(deps: BrowseDeps, a: string, b: string): AsyncGenerator<SnapshotChange> {
  const trees = await openTrees(deps);
  try {
    const [before, after] = [snapshotRow(deps, a), snapshotRow(deps, b)];
    for await (const c of diffTrees(before.root, after.root, trees.loadTree)) {
      const node = (c.after ?? c.before)!;
      const change: SnapshotChange = { kind: c.kind, path: c.path, type: node.type };
      if (c.before?.type === 'file') change.sizeBefore = c.before.size;
      if (c.after?.type === 'file') change.sizeAfter = c.after.size;
      if (c.kind === 'changed') change.what = sameContent(c.before!, c.after!) ? 'metadata' : 'content';
      yield change;
    }
  } finally {
    await trees.close();
  }
}

function sameContent(a: TreeNode, b: TreeNode): boolean {
  if (a.size !== b.size || a.target !== b.target) return false;
  const ids = (n: TreeNode) => [...(n.chunks ?? []), ...(n.chunkLists ?? [])].map(toHex).join();
  return ids(a) === ids(b);
}

/**
 * Entries whose path matches `pattern` (gitignore syntax, as `--exclude`: `*.pdf` anywhere,
 * `docs/*.txt` from the root), in every snapshot or only `snapshotId`, newest snapshot first.
 */
export async function* findInSnapshots(deps: BrowseDeps, pattern: string, snapshotId?: string): AsyncGenerator<FoundEntry> {
  const match = ignore().add(pattern);
  const trees = await openTrees(deps);
  try {
    const snapshots = snapshotId ? [snapshotRow(deps, snapshotId)] : deps.index.snapshots().filter((s): s is SnapshotRow & { root: Uint8Array } => s.root !== null);
    for (const s of snapshots) {
      for await (const e of walkTree(s.root, trees.loadTree)) {
        // gitignore counts what is inside a matching folder as matching too; find wants the folder itself.
        const parent = e.path.includes('/') ? `${e.path.slice(0, e.path.lastIndexOf('/'))}/` : null;
        if (match.ignores(e.node.type === 'dir' ? `${e.path}/` : e.path) && !(parent && match.ignores(parent))) yield { snapshot: s.id, ...entryInfo(e.path, e.node) };
      }
    }
  } finally {
    await trees.close();
  }
}
