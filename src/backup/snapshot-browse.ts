/**
 * Browsing a snapshot: the entries of one folder, a page at a time, for the web page's tree
 * browser (and `POST /ls` on the control socket). The tree blobs on the way to the folder are
 * read from our local shard copies, else downloaded from a live replica into a temporary folder
 * that is removed at once: one listing per path component, never the whole snapshot. It runs
 * beside a backup or restore (it only reads), so browsing does not wait for a long job.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SnapshotFormatError } from '../snapshot/errors.js';
import { decodeTree, type TreeNode } from '../snapshot/tree-format.js';
import { toHex } from '../util/bytes.js';
import { BlobReader, MissingBlobError, cachedShardFiles } from './blob-reader.js';
import type { BackupKeys } from './crypto.js';
import type { EntryType } from './formats.js';
import type { BackupIndex } from './index-db.js';
import type { ReplicaLocator } from './replica-locator.js';
import { SnapshotBrowseError } from './browse-errors.js';

export { SnapshotBrowseError } from './browse-errors.js';

export interface SnapshotEntryInfo {
  /** Last part of the path. */
  name: string;
  /** Path inside the snapshot, '/'-separated (what `restore --path` takes). */
  path: string;
  type: EntryType;
  /** Bytes (files), 0 otherwise. */
  size: number;
  mtimeMs: number;
  mode: number;
  /** Where a symlink points. */
  target?: string;
}

export interface SnapshotEntryPage {
  snapshot: string;
  /** The folder listed ('' is the snapshot's root). */
  dir: string;
  /** Entries in the folder; `entries` is the page [offset, offset + limit). */
  total: number;
  offset: number;
  entries: SnapshotEntryInfo[];
}

export interface BrowseDeps {
  keys: BackupKeys;
  index: Pick<BackupIndex, 'snapshots' | 'shard' | 'chunk'>;
  locator: Pick<ReplicaLocator, 'localCopy' | 'fetchShard'>;
  /** Where a downloaded meta shard may go for a moment. */
  tmp: string;
  /** Enters the browse gate (browse-gate.ts) for one walk; the function returned leaves it. */
  enter: () => Promise<() => void>;
}

/** Folders first, then by name: the order a file browser shows. */
function byKindThenName(a: SnapshotEntryInfo, b: SnapshotEntryInfo): number {
  if ((a.type === 'dir') !== (b.type === 'dir')) return a.type === 'dir' ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The entries directly inside `dir` of snapshot `snapshotId`, sorted, the page [offset, offset + limit). */
export async function listSnapshotDir(deps: BrowseDeps, snapshotId: string, dir: string, page: { offset: number; limit: number }): Promise<SnapshotEntryPage> {
  const leave = await deps.enter();
  let nodes: TreeNode[];
  let prefix: string;
  try {
    ({ nodes, prefix } = await readFolder(deps, snapshotId, dir));
  } finally {
    leave();
  }
  const children: SnapshotEntryInfo[] = nodes.map((n) => ({
    name: n.name,
    path: prefix ? `${prefix}/${n.name}` : n.name,
    type: n.type,
    size: n.type === 'file' ? n.size : 0,
    mtimeMs: n.mtimeMs,
    mode: n.mode,
    ...(n.target !== undefined ? { target: n.target } : {}),
  }));
  children.sort(byKindThenName);
  const offset = Math.max(0, page.offset);
  return { snapshot: snapshotId, dir: prefix, total: children.length, offset, entries: children.slice(offset, offset + Math.max(0, page.limit)) };
}

/** The nodes of folder `dir` of the snapshot, reading one listing per path component. */
async function readFolder(deps: BrowseDeps, snapshotId: string, dir: string): Promise<{ nodes: TreeNode[]; prefix: string }> {
  const summary = deps.index.snapshots().find((s) => s.id === snapshotId);
  if (!summary) throw new SnapshotBrowseError('UNKNOWN_SNAPSHOT', `unknown snapshot ${snapshotId}`);
  if (!summary.root) throw new SnapshotFormatError('LEGACY_SNAPSHOT', `snapshot ${snapshotId} was written in the first format, which this version does not read`);
  const prefix = dir.replace(/^\/+|\/+$/g, '');
  const work = await fs.mkdtemp(path.join(deps.tmp, 'browse-'));
  let nodes: TreeNode[];
  try {
    const shardFile = cachedShardFiles(deps.locator, deps.index, work);
    const reader = new BlobReader(deps.keys, deps.index, shardFile);
    const load = async (id: Uint8Array) =>
      decodeTree(
        await reader.load(id).catch((err: unknown) => {
          throw err instanceof MissingBlobError ? new SnapshotBrowseError('UNAVAILABLE', `no host could supply the metadata of snapshot ${snapshotId}`) : err;
        }),
      );
    nodes = await load(summary.root);
    let at = '';
    for (const part of prefix ? prefix.split('/') : []) {
      const node = nodes.find((n) => n.name === part);
      at = at ? `${at}/${part}` : part;
      if (!node) throw new SnapshotBrowseError('NO_PATH', `no path "${prefix}" in snapshot ${snapshotId}`);
      if (node.type !== 'dir' && at !== prefix) throw new SnapshotBrowseError('NO_PATH', `no path "${prefix}" in snapshot ${snapshotId}`);
      if (node.type !== 'dir') throw new SnapshotBrowseError('NOT_A_FOLDER', `"${prefix}" in snapshot ${snapshotId} is a ${node.type}, not a folder`);
      nodes = await load(node.subtree!);
    }
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
  return { nodes, prefix };
}
