/**
 * One process per data directory: a `peer.lock` file holding the owner's PID, created
 * exclusively. A lock whose process is gone (a crash, SIGKILL) is stale and taken over. Two
 * peers sharing a directory would share an identity and a database; this stops that early,
 * with a message that says which process holds it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export const LOCK_FILE = 'peer.lock';

/** The data directory is held by another peer (the CLI maps it to "a peer is already running"). */
export class DataDirInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirInUseError';
  }
}

/** Directories locked by this process (a second Peer in the same process must fail too). */
const heldHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // ESRCH: no such process. EPERM: it exists, but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the directory's lock; resolves with a function that releases it. */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const file = path.join(path.resolve(dir), LOCK_FILE);
  if (heldHere.has(file)) throw new DataDirInUseError(`${dir} is already in use by a peer in this process`);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await fs.open(file, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      heldHere.add(file);
      return async () => {
        heldHere.delete(file);
        await fs.rm(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    // Unreadable (its holder released it between our open and this read): no PID, so stale, and retried below.
    const pid = Number.parseInt(await fs.readFile(file, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new DataDirInUseError(`${dir} is in use by another peer (process ${pid}); stop it first, or remove ${file} if that process is not a peer`);
    }
    // Stale: its process is gone. Remove and try again (another starter may race us: retry).
    await fs.rm(file, { force: true });
  }
  throw new Error(`could not lock ${dir}`);
}
