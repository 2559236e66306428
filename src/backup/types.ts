/** What the engine's public methods report (re-exported by engine.ts and src/index.ts). */

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
  /** Replicas asked for but not found; the peer keeps trying in the background. */
  shortfall: number;
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
}

export interface MaintenanceReport {
  audited: number;
  failed: number;
  cancelled: number;
  replaced: number;
}
