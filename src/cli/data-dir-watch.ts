/**
 * A running peer's data directory that stops being usable: unmounted (another directory is now
 * at its path), deleted, or remounted read-only. Checked every `everyMs` (stat and access, no
 * write); the first finding is reported once, and the daemon stops with one line and exit
 * code 10 instead of failing every write from then on.
 */
import { constants, promises as fs } from 'node:fs';
import { every, type Clock } from '../util/clock.js';
import { asDataDirError, DataDirError } from '../peer/data-dir-errors.js';

/** Which directory is at the path now (device and inode). */
export interface DirIdentity {
  dev: number;
  ino: number;
}

export async function dirIdentity(dir: string): Promise<DirIdentity> {
  const s = await fs.stat(dir);
  return { dev: s.dev, ino: s.ino };
}

/** What is wrong with the data directory now, or null when it is the same one and writable. */
export async function checkDataDir(dir: string, was: DirIdentity): Promise<DataDirError | null> {
  try {
    const now = await dirIdentity(dir);
    if (now.dev !== was.dev || now.ino !== was.ino) {
      return new DataDirError(`the data directory ${dir} vanished (another directory is at its path now: was it unmounted?); the peer stopped: mount it again, then start the peer`, 'VANISHED', dir);
    }
    // access(2) answers EROFS for a read-only mount, also for root, without writing anything.
    await fs.access(dir, constants.W_OK);
    return null;
  } catch (err) {
    const e = asDataDirError(err, dir);
    return e instanceof DataDirError ? e : null;
  }
}

/** Checks every `everyMs`; calls `onLost` once with the first finding. Returns the function that stops it. */
export function watchDataDir(clock: Clock, dir: string, was: DirIdentity, everyMs: number, onLost: (err: DataDirError) => void): () => void {
  let checking = false;
  let reported = false;
  return every(clock, everyMs, () => {
    if (checking || reported) return;
    checking = true;
    void checkDataDir(dir, was)
      .then((err) => {
        if (err && !reported) {
          reported = true;
          onLost(err);
        }
      })
      .finally(() => (checking = false));
  });
}
