/**
 * syncfs(2) for the filesystem a directory is on: all of its dirty data and metadata written
 * and flushed to the device at once.
 *
 * Why: fsync of each file costs a device flush each, and a virtual disk serializes them (here
 * ~0.45 ms apiece: 1.7 s of a 3,811-file restore, docs/benchmarks.md); one syncfs flushes a
 * batch of hundreds. Node has no binding for syncfs, so this runs `sync -f DIR` (coreutils 8.24+,
 * busybox). Where that is missing (macOS, old or minimal images) it answers false: a caller
 * asks once and fsyncs file by file if so. A false later on, after a true, is a failed sync
 * (e.g. an I/O error), for the caller to treat as such. Linux before 5.8 does not report
 * writeback errors through syncfs.
 */
import { execFile } from 'node:child_process';

/** The command run: replaceable for tests of the fallback. */
let command = 'sync';

export function setSyncCommand(name: string): void {
  command = name;
}

/** True once everything on `dir`'s filesystem is on the device; false if syncfs is not to be had here. */
export function syncFileSystem(dir: string): Promise<boolean> {
  if (process.platform !== 'linux') return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile(command, ['-f', '--', dir], (err) => resolve(!err));
  });
}
