/** Builds sample directory trees and compares trees for the backup tests. */
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';

export const MARKER = 'the quick brown fox keeps backups on other disks';

/** Nested folders, an empty file, an empty folder, a symlink, MiBs of random data, text. */
export function makeSampleTree(root: string, randomMiB = 3): void {
  mkdirSync(path.join(root, 'docs', 'deep', 'deeper'), { recursive: true });
  mkdirSync(path.join(root, 'empty-dir'));
  writeFileSync(path.join(root, 'empty-file'), '');
  writeFileSync(path.join(root, 'docs', 'note.txt'), `${MARKER}\n`.repeat(200));
  writeFileSync(path.join(root, 'docs', 'deep', 'deeper', 'random.bin'), randomBytes(randomMiB * 2 ** 20));
  writeFileSync(path.join(root, 'changing.bin'), randomBytes(2 * 2 ** 20));
  chmodSync(path.join(root, 'docs', 'note.txt'), 0o640);
  writeFileSync(path.join(root, 'script.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(path.join(root, 'script.sh'), 0o755);
  symlinkSync('docs/note.txt', path.join(root, 'link-to-note'));
  // Fixed, distinct times, so restoring mtimes is really checked.
  let t = 1_600_000_000;
  for (const rel of ['empty-file', 'docs/note.txt', 'docs/deep/deeper/random.bin', 'changing.bin', 'script.sh', 'docs/deep/deeper', 'docs/deep', 'docs', 'empty-dir']) {
    utimesSync(path.join(root, rel), t, t);
    t += 1000;
  }
}

export interface Described {
  path: string;
  type: string;
  mode: number;
  mtime: number;
  content: string;
}

/** Every entry under `root` with type, mode, mtime (ms) and a digest of its content or target. */
export function describeTree(root: string): Described[] {
  const out: Described[] = [];
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    const st = lstatSync(abs);
    const base = { path: rel, mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs) };
    if (st.isSymbolicLink()) out.push({ ...base, type: 'symlink', mode: 0, mtime: 0, content: readlinkSync(abs) });
    else if (st.isFile()) out.push({ ...base, type: 'file', content: createHash('sha256').update(readFileSync(abs)).digest('hex') });
    else if (st.isDirectory()) {
      if (rel) out.push({ ...base, type: 'dir', content: '' });
      for (const name of readdirSync(abs).sort()) walk(rel ? `${rel}/${name}` : name);
    }
  };
  walk('');
  return out;
}
