/**
 * The disk bench:backup runs on: free space before it starts, bytes a folder takes, and with
 * `--fresh-fs` a new ext4 filesystem on a loop device made for the run and removed after it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commandSucceeds } from '../common.js';
import { KiB } from './settings.js';

export interface FreshFilesystem {
  /** Where it is mounted. */
  dir: string;
  /** Unmounts it and deletes the image (safe to call twice). */
  remove: () => void;
  /** What it is, for the report's "Temp dir" line. */
  note: string;
}

const FRESH_FS_NOTE = `a new ext4 filesystem without a journal on a loop device with direct I/O, made for this run (\`--fresh-fs\`; its image in ${os.tmpdir()}): no earlier run's deleted files slow this one (see "Noise in restores")`;

/** Free bytes on the filesystem of `dir` (df), for the check before a run. */
export function freeBytes(dir: string): number {
  const out = execFileSync('df', ['-Pk', dir], { encoding: 'utf8' }).trim().split('\n');
  return Number(out[out.length - 1]!.split(/\s+/)[3]) * KiB;
}

/** Bytes `dir` takes on disk (du -sb); NaN if du fails. */
export function duBytes(dir: string): number {
  try {
    return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split(/\s+/)[0]);
  } catch {
    // A figure of the report: '-' there says it could not be measured.
    return NaN;
  }
}

/**
 * A new ext4 filesystem (no journal, like this machine's root) of `bytes` on a loop device with
 * direct I/O, mounted on a new directory: runs do not inherit the state earlier runs left (on
 * ext4, creating files shortly after thousands were deleted is slow). Needs root, mkfs.ext4,
 * losetup and mount; the sparse image lives in os.tmpdir(). `remove` unmounts and deletes it all.
 */
export function makeFreshFilesystem(bytes: number, minInodes = 0): FreshFilesystem {
  if (process.getuid?.() !== 0) throw new Error('--fresh-fs needs root (it runs mkfs.ext4, losetup and mount)');
  const image = path.join(os.tmpdir(), `dbs-bench-fs-${process.pid}.img`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbs-bench-mnt-'));
  let device = '';
  let mounted = false;
  const remove = () => {
    // Killed peers may still hold files there for a moment: a lazy unmount then.
    if (mounted && !commandSucceeds('umount', [dir])) commandSucceeds('umount', ['-l', dir]);
    mounted = false;
    if (device) commandSucceeds('losetup', ['-d', device]);
    device = '';
    rmSync(image, { force: true });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    execFileSync('truncate', ['-s', String(bytes), image]);
    // mkfs gives one inode per 16 KiB: a million small files, restored twice, needs more.
    const inodes = minInodes > bytes / (16 * 1024) ? ['-N', String(Math.ceil(minInodes))] : [];
    execFileSync('mkfs.ext4', ['-q', '-F', '-O', '^has_journal', ...inodes, image], { stdio: 'ignore' });
    device = execFileSync('losetup', ['--direct-io=on', '-f', '--show', image], { encoding: 'utf8' }).trim();
    execFileSync('mount', [device, dir]);
    mounted = true;
  } catch (err) {
    remove();
    throw new Error(`--fresh-fs: could not make the filesystem: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { dir, remove, note: FRESH_FS_NOTE };
}
