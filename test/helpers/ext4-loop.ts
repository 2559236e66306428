/**
 * A small ext4 file system on a loop device, mounted with `errors=remount-ro`, for the fault
 * where the kernel itself turns a disk read-only under running processes (after an I/O or
 * metadata error, as ext4 does on real disks). `triggerError()` makes ext4 report an error
 * through its sysfs switch (`/sys/fs/ext4/DEV/trigger_fs_error`): the journal is aborted and
 * the file system goes read-only at once, open files and all (unlike `mount -o remount,ro`,
 * which is refused while files are open for writing). ext4 will not go back to read-write
 * without an unmount and fsck, which `repair()` does. Root only; otherwise the reason to skip.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: 'pipe' }).toString();

export class Ext4Loop {
  private device = '';

  private constructor(
    private readonly root: string,
    readonly image: string,
    readonly dir: string,
  ) {}

  static create(sizeBytes: number): Ext4Loop | string {
    if (process.getuid?.() !== 0) return 'needs root to mount a loop device';
    const root = mkdtempSync(path.join(os.tmpdir(), 'dbs-ext4-'));
    const fs = new Ext4Loop(root, path.join(root, 'disk.img'), path.join(root, 'mnt'));
    try {
      writeFileSync(fs.image, '');
      execFileSync('truncate', ['-s', String(sizeBytes), fs.image]);
      sh('mkfs.ext4', ['-q', '-F', fs.image]);
      execFileSync('mkdir', [fs.dir]);
      fs.mount();
      if (!existsSync(fs.sysfs('trigger_fs_error'))) {
        fs.remove();
        return 'this kernel has no ext4 trigger_fs_error';
      }
      return fs;
    } catch (err) {
      fs.remove();
      return `no ext4 loop mount here: ${(err as Error).message.split('\n')[0]}`;
    }
  }

  private sysfs(name: string): string {
    return path.join('/sys/fs/ext4', path.basename(this.device), name);
  }

  mount(): void {
    // -w: fail rather than fall back to a read-only mount (as mount does when the loop device cannot be opened for writing).
    sh('mount', ['-w', '-o', 'loop,errors=remount-ro', this.image, this.dir]);
    this.device = sh('findmnt', ['-n', '-o', 'SOURCE', this.dir]).trim();
  }

  /** True when the kernel has the file system read-only now. */
  get readOnly(): boolean {
    // Newer kernels keep `rw` and add `emergency_ro` after an error; older ones show `ro`.
    const options = sh('findmnt', ['-n', '-o', 'OPTIONS', this.dir]).trim().split(',');
    return options.includes('ro') || options.includes('emergency_ro');
  }

  /** ext4 reports an error: with errors=remount-ro the kernel turns the file system read-only. */
  triggerError(): void {
    writeFileSync(this.sysfs('trigger_fs_error'), 'dbs fault test\n');
  }

  /** Unmounts, runs fsck (returns its exit code: 0 clean, 1 errors corrected), mounts read-write again. */
  repair(): number {
    this.unmount();
    let code = 0;
    try {
      sh('e2fsck', ['-f', '-y', this.image]);
    } catch (err) {
      code = (err as { status?: number }).status ?? -1;
    }
    this.mount();
    return code;
  }

  unmount(): void {
    if (this.device) sh('umount', [this.dir]);
    this.device = '';
  }

  /** Unmounts (if mounted) and removes the image. */
  remove(): void {
    try {
      if (this.device) execFileSync('umount', ['-l', this.dir], { stdio: 'pipe' });
    } catch {
      // Already gone.
    }
    this.device = '';
    rmSync(this.root, { recursive: true, force: true });
  }
}
