/** What the engine's public methods take and report (re-exported by engine.ts and src/index.ts). */
import type { TreeBuildStats } from '../snapshot/tree-builder.js';
import type { ExcludeOptions } from './exclude.js';

export type { TreeBuildStats } from '../snapshot/tree-builder.js';

export interface BackupOptions {
  /** Hosts per shard (default 3), each with a whole copy. Ignored when `erasure` is given. */
  replicas?: number;
  /**
   * Code each shard into N pieces, any K of which rebuild it, each on its own host
   * (`dbs backup --erasure K/N`); K = 1 means N whole copies, as `replicas: N`. The shard that
   * holds a backup's closing metadata stays whole, on N − K + 1 hosts (docs/durability.md).
   */
  erasure?: { k: number; n: number };
  /** Read every file and list every directory, trusting nothing of the parent snapshot (`dbs backup --force`). */
  force?: boolean;
  /**
   * Paths that changed since the last backup (relative to the source, '/'-separated), as a
   * watcher saw them: directories on none of them keep the parent's trees without being
   * listed. Absent: a full walk (files cache still applies).
   */
  changedPaths?: Iterable<string>;
  onProgress?: (p: BackupProgress) => void;
  /** What to leave out (exclude.ts): patterns, pattern files, tag files, --one-file-system. */
  exclude?: ExcludeOptions;
  /** Tags for the snapshot (`--tag`), stored in its catalog record; `dbs forget --keep-tag` keeps by them. */
  tags?: string[];
}

export interface RestoreOptions {
  /** Restore only this path of the snapshot (and what is under it). */
  path?: string;
  /** gitignore-style patterns: restore only what matches (with the directories that hold it). */
  include?: string[];
  /** gitignore-style patterns: leave what matches out. */
  exclude?: string[];
  onProgress?: (p: RestoreProgress) => void;
}

export interface BackupProgress {
  phase: 'scanning' | 'uploading' | 'metadata' | 'done';
  files: number;
  bytes: number;
  uploadedBytes: number;
}

export interface BackupResult {
  id: string;
  files: number;
  bytes: number;
  /** Sealed bytes sent to hosts (once per shard, not per replica); 0 when nothing changed. */
  uploadedBytes: number;
  shards: number;
  /** Replicas (or, with `erasure`, pieces) asked for but not found; the peer keeps trying in the background. */
  shortfall: number;
  /** Files read and reused from the parent snapshot, trees stored and reused, and the rest. */
  stats: TreeBuildStats;
}

export interface RestoreProgress {
  files: number;
  bytes: number;
  totalBytes: number;
}

export interface RestoreResult {
  files: number;
  bytes: number;
  /** Files that could not be restored because no replica could supply a chunk. */
  incomplete: string[];
}

export interface SnapshotInfo {
  id: string;
  createdAt: number;
  source: string;
  files: number;
  bytes: number;
  /** `dbs backup --tag`; absent: none. */
  tags?: string[];
  /** ms the backup took and shard bytes it uploaded (one copy each); absent for snapshots recovered from the network. */
  durationMs?: number;
  addedBytes?: number;
}

export interface MaintenanceReport {
  audited: number;
  failed: number;
  cancelled: number;
  replaced: number;
  /** Bytes repairs downloaded from surviving hosts (shards or pieces; 0 when rebuilt from our own copies). */
  repairDownloadedBytes: number;
  /** Bytes repairs uploaded to new hosts (new replicas and rebuilt pieces). */
  repairUploadedBytes: number;
}
