/**
 * A data directory whose file system turned read-only while the peer runs (a disk that
 * reported errors and was remounted `ro` by the kernel, an administrator's `mount -o
 * remount,ro`, a read-only bind mount put over it). The host then cannot take new shards, but
 * it can still read, and so prove, the ones it holds: it stays up, refuses proposals and
 * uploads with `READ_ONLY`, and takes shards again once the directory is writable (the next
 * free-space sample, storage/disk-space.ts, sees it).
 */
import { constants, promises as fs } from 'node:fs';

/** A write refused because the file system (or SQLite's file on it) is read-only. */
export function isReadOnlyError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'EROFS' || code === 'SQLITE_READONLY' || code === 'SQLITE_READONLY_DBMOVED';
}

/**
 * Whether `dir` can be written now: access(2) answers EROFS for a read-only mount, also for
 * root, without writing anything. Other errors (a vanished directory) are not this module's
 * finding: they count as writable here and are left to the data-directory watch.
 */
export async function isWritable(dir: string): Promise<boolean> {
  try {
    await fs.access(dir, constants.W_OK);
    return true;
  } catch (err) {
    return !isReadOnlyError(err);
  }
}

/** The one text owners and logs read for a read-only host. */
export const READ_ONLY_TEXT = "the host's data directory is read-only";
