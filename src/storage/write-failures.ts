/**
 * What a host answers when a write of its own fails because of its disk, not the request: the
 * database (SQLITE_FULL, SQLITE_READONLY) or a file (ENOSPC, EROFS). The write is refused with
 * the reason the owner understands (`DISK_FULL`, `READ_ONLY`) and the disk's episode starts,
 * so the host announces nothing free and logs one warning, instead of going silent (a handler
 * that throws answers nothing, which an owner counts against the host).
 */
import { isDiskFull, type DiskSpace } from './disk-space.js';
import { isIoError, isReadOnlyError } from './read-only.js';

/** A disk refusal, or null when `err` is not the disk's fault. */
export type DiskRefusal = 'DISK_FULL' | 'READ_ONLY';

/** ENOSPC/EDQUOT from a file, or SQLITE_FULL from the database (SQLite's own out-of-space code). */
export function isOutOfSpace(err: unknown): boolean {
  return isDiskFull(err) || (err as { code?: unknown } | null)?.code === 'SQLITE_FULL';
}

/** Classifies a failed write and starts the matching episode on `space`. */
export function diskRefusal(err: unknown, space: Pick<DiskSpace, 'ranOut' | 'ranReadOnly' | 'confirmReadOnly'>): DiskRefusal | null {
  if (isOutOfSpace(err)) {
    space.ranOut();
    return 'DISK_FULL';
  }
  if (isReadOnlyError(err)) {
    space.ranReadOnly();
    return 'READ_ONLY';
  }
  // SQLite reports a write refused with EROFS as an I/O error: a probe tells which it was.
  if (isIoError(err) && space.confirmReadOnly()) return 'READ_ONLY';
  return null;
}
