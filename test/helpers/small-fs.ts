/**
 * A small real file system for full-disk tests: a tmpfs of a given size, mounted by the test
 * and removed with it. Needs root (mount); otherwise `mountSmallFs` returns the reason to skip.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SmallFs {
  dir: string;
  /** Bytes still free for an unprivileged writer. */
  available(): number;
  /** Writes a filler file so that about `leave` bytes stay free; returns its path. */
  fill(leave: number, name?: string): string;
  unmount(): void;
}

export function mountSmallFs(sizeBytes: number): SmallFs | string {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbs-smallfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return `mount -t tmpfs failed: ${(err as Error).message.split('\n')[0]}`;
  }
  const available = () => {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  };
  return {
    dir,
    available,
    fill(leave, name = 'filler') {
      const file = path.join(dir, name);
      const bytes = Math.max(0, available() - leave);
      // Zero-filled chunks: tmpfs keeps every page, so this takes the space for real.
      const chunk = Buffer.alloc(Math.min(bytes, 1024 * 1024));
      writeFileSync(file, '');
      for (let done = 0; done < bytes; done += chunk.length) writeFileSync(file, chunk.subarray(0, Math.min(chunk.length, bytes - done)), { flag: 'a' });
      return file;
    },
    unmount() {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A `before` hook's mount: the small file system, or the test skipped with the reason printed
 * (no root, no loop devices). What every fault test on a small disk starts with.
 */
export function mountSmallFsOrSkip(ctx: Mocha.Context, sizeBytes: number): SmallFs {
  const mounted = mountSmallFs(sizeBytes);
  if (typeof mounted === 'string') {
    console.log(`      skipped: ${mounted}`);
    ctx.skip();
  }
  return mounted as SmallFs;
}
