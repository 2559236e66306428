/**
 * Browsing a snapshot: the entries of one folder, a page at a time, for the web page's tree
 * browser (and `POST /ls` on the control socket). The snapshot object is read from our local
 * copy of its meta shard, else downloaded from a live replica into a temporary folder that is
 * removed at once. It runs beside a backup or restore (it only reads), so browsing does not
 * wait for a long job. The current snapshot format holds the tree in one object, so the object
 * is decoded whole (as restore does) and only the page asked for is kept.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { BackupKeys } from './crypto.js';
import { decodeSnapshot, type EntryType } from './formats.js';
import type { BackupIndex } from './index-db.js';
import { readBlob } from './metadata.js';
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
  index: Pick<BackupIndex, 'snapshots' | 'shard'>;
  locator: Pick<ReplicaLocator, 'localCopy' | 'liveContracts' | 'fetchFromAny'>;
  /** Where a downloaded meta shard may go for a moment. */
  tmp: string;
}

/** Folders first, then by name: the order a file browser shows. */
function byKindThenName(a: SnapshotEntryInfo, b: SnapshotEntryInfo): number {
  if ((a.type === 'dir') !== (b.type === 'dir')) return a.type === 'dir' ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The entries directly inside `dir` of snapshot `snapshotId`, sorted, the page [offset, offset + limit). */
export async function listSnapshotDir(deps: BrowseDeps, snapshotId: string, dir: string, page: { offset: number; limit: number }): Promise<SnapshotEntryPage> {
  const summary = deps.index.snapshots().find((s) => s.id === snapshotId);
  if (!summary) throw new SnapshotBrowseError('UNKNOWN_SNAPSHOT', `unknown snapshot ${snapshotId}`);
  const prefix = dir.replace(/^\/+|\/+$/g, '');
  const work = await fs.mkdtemp(path.join(deps.tmp, 'browse-'));
  let entries;
  try {
    const hash = summary.meta.shard!;
    const file = (await deps.locator.localCopy(deps.index.shard(hash))) ?? (await deps.locator.fetchFromAny(deps.locator.liveContracts(hash), work, false));
    if (!file) throw new SnapshotBrowseError('UNAVAILABLE', `no host could supply the metadata of snapshot ${snapshotId}`);
    entries = decodeSnapshot(await readBlob(deps.keys, file, { ...summary.meta })).entries;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
  if (prefix) {
    const self = entries.find((e) => e.path === prefix);
    if (!self) throw new SnapshotBrowseError('NO_PATH', `no path "${prefix}" in snapshot ${snapshotId}`);
    if (self.type !== 'dir') throw new SnapshotBrowseError('NOT_A_FOLDER', `"${prefix}" in snapshot ${snapshotId} is a ${self.type}, not a folder`);
  }
  const children: SnapshotEntryInfo[] = [];
  for (const e of entries) {
    if (e.path === '' || e.path === prefix) continue;
    const parent = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : '';
    if (parent !== prefix) continue;
    children.push({
      name: e.path.slice(parent ? parent.length + 1 : 0),
      path: e.path,
      type: e.type,
      size: e.type === 'file' ? e.size : 0,
      mtimeMs: e.mtimeMs,
      mode: e.mode,
      ...(e.target !== undefined ? { target: e.target } : {}),
    });
  }
  children.sort(byKindThenName);
  const offset = Math.max(0, page.offset);
  return { snapshot: snapshotId, dir: prefix, total: children.length, offset, entries: children.slice(offset, offset + Math.max(0, page.limit)) };
}
