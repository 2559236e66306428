/**
 * A backup whose owner-side writes run out of room (the outbox's shard files, the local copies
 * of placed shards, the SQLite index): one typed error with one line that says where and what
 * to do. What the backup leaves behind is already safe: a shard file gets its real name only
 * once whole and placed (placement.ts), a failed SQLite write rolls its transaction back, and
 * the snapshot is recorded last, so the next backup after freeing room reuses every shard
 * placed before the disk filled.
 */
import { isDiskFull } from '../storage/disk-space.js';

/** The owner's data directory ran out of room during a backup. `code` for callers that branch (the CLI exits 9). */
export class BackupDiskFullError extends Error {
  readonly code = 'DISK_FULL';
  constructor(
    message: string,
    readonly dataDir: string,
  ) {
    super(message);
    this.name = 'BackupDiskFullError';
  }
}

/** ENOSPC/EDQUOT from a file write, or SQLITE_FULL from the database. */
export function isOwnerDiskFull(err: unknown): boolean {
  return isDiskFull(err) || (err as { code?: unknown } | null)?.code === 'SQLITE_FULL';
}

/** A backup's failure, in one line when the disk holding `dataDir` filled; other errors unchanged. */
export function asBackupError(err: unknown, dataDir: string): unknown {
  if (err instanceof BackupDiskFullError || !isOwnerDiskFull(err)) return err;
  return new BackupDiskFullError(
    `the disk holding ${dataDir} is full, so the backup stopped; no snapshot was recorded, nothing half-written was kept, and the shards already stored are reused by the next backup (free some space and back up again)`,
    dataDir,
  );
}
