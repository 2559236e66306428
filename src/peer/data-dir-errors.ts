/**
 * A data directory the peer cannot use, in one line that names the file and the way back:
 * read-only, gone, not ours to write, or a damaged database. `dbs start` exits with its own
 * code (10) so a service manager can tell it from a crash and not restart it in a loop.
 */
import path from 'node:path';

export type DataDirProblem = 'READ_ONLY' | 'NO_ACCESS' | 'VANISHED' | 'DATABASE_DAMAGED';

export class DataDirError extends Error {
  readonly code = 'DATA_DIR_UNUSABLE';
  constructor(
    message: string,
    readonly problem: DataDirProblem,
    /** The file or directory at fault. */
    readonly file: string,
  ) {
    super(message);
    this.name = 'DataDirError';
  }
}

/** SQLite's codes for a file that is not (or no longer) a database. */
const DAMAGED = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CORRUPT_VTAB', 'SQLITE_IOERR_SHORT_READ']);

/** `err` from opening or using the data directory `dataDir`, as a DataDirError when it is one; other errors unchanged. */
export function asDataDirError(err: unknown, dataDir: string): unknown {
  if (err instanceof DataDirError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const where = (err as { path?: unknown } | null)?.path;
  const file = typeof where === 'string' ? where : dataDir;
  if (typeof code !== 'string') return err;
  if (DAMAGED.has(code)) {
    const db = path.join(dataDir, 'peer.db');
    return new DataDirError(
      `the database ${db} is damaged (${code}); to get back, move ${dataDir} aside and start again on a new data directory with your recovery key (dbs start --data NEW --recover KEY): your backups are recovered from the network`,
      'DATABASE_DAMAGED',
      db,
    );
  }
  if (code === 'EROFS' || code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY_')) {
    return new DataDirError(`the data directory ${dataDir} is on a read-only file system (${file}); the peer must write there: remount it read-write or choose another --data`, 'READ_ONLY', file);
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new DataDirError(`the data directory ${dataDir} cannot be written by this user (${code} on ${file}); fix its owner or permissions, or choose another --data`, 'NO_ACCESS', file);
  }
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'SQLITE_IOERR_DELETE_NOENT') {
    return new DataDirError(`the data directory ${dataDir} vanished or is not a directory (${code} on ${file}); mount it again or choose another --data`, 'VANISHED', file);
  }
  return err;
}
