/**
 * Makes a directory read-only under a running process, and writable again, with real mounts
 * (root only). `mount -o remount,ro` of the file system itself is refused (EBUSY) while any
 * file on it is open for writing, as a peer's SQLite database always is; so the directory is
 * bind-mounted onto itself and that bind mount is remounted `ro`, then `rw`. Every path lookup
 * under the directory (a new shard file, access(2), a rename) then meets a read-only mount,
 * exactly as after a remount; files opened before (SQLite's database and WAL) keep writing
 * through the mount they were opened on, which a real read-only remount would not allow.
 */
import { execFileSync } from 'node:child_process';

const run = (...args: string[]) => execFileSync('mount', args, { stdio: 'pipe' });

export class ReadOnlyMount {
  private bound = false;

  constructor(readonly dir: string) {}

  /** The directory turns read-only (`mount -o remount,ro,bind`). */
  readOnly(): void {
    if (!this.bound) run('--bind', this.dir, this.dir);
    this.bound = true;
    run('-o', 'remount,ro,bind', this.dir);
  }

  /** Writable again (`mount -o remount,rw,bind`). */
  writable(): void {
    if (this.bound) run('-o', 'remount,rw,bind', this.dir);
  }

  /** Removes the bind mount (the directory is as before). */
  release(): void {
    if (this.bound) execFileSync('umount', ['-l', this.dir], { stdio: 'pipe' });
    this.bound = false;
  }
}
