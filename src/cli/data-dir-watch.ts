/**
 * A running peer's data directory that stops being usable: unmounted (another directory is now
 * at its path) or deleted. Checked every `everyMs` (stat, no write); the first finding is
 * reported once, and the daemon stops with one line and exit code 10 instead of failing every
 * write from then on. A directory remounted read-only is not a reason to stop: the host keeps
 * proving what it holds and refuses new shards until it is writable again (storage/read-only.ts;
 * the same tick takes the free-space sample that notices both).
 */
import { promises as fs } from 'node:fs';
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

/** What is wrong with the data directory now, or null when it is the same one. */
export async function checkDataDir(dir: string, was: DirIdentity): Promise<DataDirError | null> {
  try {
    const now = await dirIdentity(dir);
    if (now.dev !== was.dev || now.ino !== was.ino) {
      return new DataDirError(`the data directory ${dir} vanished (another directory is at its path now: was it unmounted?); the peer stopped: mount it again, then start the peer`, 'VANISHED', dir);
    }
    return null;
  } catch (err) {
    const e = asDataDirError(err, dir);
    return e instanceof DataDirError ? e : null;
  }
}

/**
 * Checks every `everyMs`; calls `onLost` once with the first finding, and `sample` (the
 * free-space and read-only sample) on every tick. Returns the function that stops it.
 */
export function watchDataDir(clock: Clock, dir: string, was: DirIdentity, everyMs: number, onLost: (err: DataDirError) => void, sample?: () => Promise<void>): () => void {
  let checking = false;
  let reported = false;
  return every(clock, everyMs, () => {
    if (!reported) void sample?.().catch(() => {});
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
