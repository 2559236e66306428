/**
 * A data directory whose file system turned read-only while the peer runs (a disk that
 * reported errors and was remounted `ro` by the kernel, an administrator's `mount -o
 * remount,ro`, a read-only bind mount put over it). The host then cannot take new shards, but
 * it can still read, and so prove, the ones it holds: it stays up, refuses proposals and
 * uploads with `READ_ONLY`, and takes shards again once the directory is writable (the next
 * free-space sample, storage/disk-space.ts, sees it).
 */
import { closeSync, constants, openSync, promises as fs, rmSync } from 'node:fs';
import path from 'node:path';

/** A write refused because the file system (or SQLite's file on it) is read-only. */
export function isReadOnlyError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'EROFS' || code === 'SQLITE_READONLY' || code === 'SQLITE_READONLY_DBMOVED';
}

/** An I/O error that may be a read-only disk in disguise (SQLite reports EROFS on a write as SQLITE_IOERR_WRITE). */
export function isIoError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'EIO' || (typeof code === 'string' && code.startsWith('SQLITE_IOERR'));
}

/** The file a write probe creates and removes at once. */
const PROBE = '.dbs-write-probe';

/**
 * Whether `dir` can be written now. access(2) answers EROFS for a read-only mount, also for root,
 * without writing anything; but a file system the kernel turned read-only after an error (ext4's
 * `emergency_ro`) still passes it, so `probe` also creates and removes a file (used while a
 * read-only episode lasts, to see it end, and never otherwise: no write every few seconds on a
 * healthy disk). Other errors (a vanished directory) count as writable here: they are the
 * data-directory watch's finding.
 */
export async function isWritable(dir: string, probe = false): Promise<boolean> {
  try {
    await fs.access(dir, constants.W_OK);
    if (probe) {
      await (await fs.open(path.join(dir, PROBE), 'w')).close();
      await fs.rm(path.join(dir, PROBE), { force: true });
    }
    return true;
  } catch (err) {
    return !isReadOnlyError(err);
  }
}

/** The same probe, synchronous: for a write that just failed with an I/O error, to tell a read-only disk from a failing one. */
export function probeReadOnlySync(dir: string): boolean {
  try {
    closeSync(openSync(path.join(dir, PROBE), 'w'));
    rmSync(path.join(dir, PROBE), { force: true });
    return false;
  } catch (err) {
    return isReadOnlyError(err);
  }
}

/** The one text owners and logs read for a read-only host. */
export const READ_ONLY_TEXT = "the host's data directory is read-only";
