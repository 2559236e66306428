/**
 * Restore and a full destination: check the room the restore needs before it writes anything,
 * and turn a write that ran out of space into one typed error. The file restorer already keeps
 * every file under a temporary name until it is whole (file-restorer.ts, durable-renames.ts), so
 * a full disk leaves no short file under a real name: only whole files, and no temporaries.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isDiskFull } from '../storage/disk-space.js';

/** The restore's destination has (or had) too little room. `code` for callers that branch. */
export class RestoreDiskFullError extends Error {
  readonly code = 'DISK_FULL';
  constructor(
    message: string,
    readonly dest: string,
  ) {
    super(message);
    this.name = 'RestoreDiskFullError';
  }
}

/** Free bytes for us on the file system that holds `dir`, or its nearest existing ancestor. */
export async function freeBytesAt(dir: string): Promise<number> {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    try {
      const s = await fs.statfs(at);
      return s.bavail * s.bsize;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(at) === at) throw err;
    }
  }
}

/**
 * Refuses to start a restore of `needed` bytes of file contents into `dest` when its file system
 * has less free. (Directories and block rounding take a little more; a destination that fills
 * anyway is caught by `asRestoreError`.)
 */
export async function checkRestoreSpace(dest: string, needed: number): Promise<void> {
  const free = await freeBytesAt(dest);
  if (needed > free) {
    throw new RestoreDiskFullError(`not enough space in ${dest}: the restore needs ${mib(needed)} and the disk has ${mib(free)} free; nothing was written`, dest);
  }
}

/** A write failure of a restore into `dest`, in one line when the disk filled. */
export function asRestoreError(err: unknown, dest: string): unknown {
  if (err instanceof RestoreDiskFullError || !isDiskFull(err)) return err;
  return new RestoreDiskFullError(`the disk holding ${dest} filled up during the restore; the files already restored there are whole, no partial file was kept (free some space and restore again into an empty folder)`, dest);
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
