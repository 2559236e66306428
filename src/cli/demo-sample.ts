/** The demo's sample folder, and a fingerprint of a tree for its byte-for-byte check. */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const MiB = 2 ** 20;

/** Nested folders, an empty folder, an empty file, an executable, a symlink and a few MiB. */
export function makeSampleFolder(root: string): void {
  mkdirSync(path.join(root, 'photos', '2026'), { recursive: true });
  mkdirSync(path.join(root, 'empty-folder'));
  writeFileSync(path.join(root, 'notes.txt'), 'Back up onto your friends\' disks, not a cloud.\n'.repeat(500));
  writeFileSync(path.join(root, 'photos', '2026', 'beach.raw'), randomBytes(3 * MiB));
  writeFileSync(path.join(root, 'photos', '2026', 'hike.raw'), randomBytes(2 * MiB));
  writeFileSync(path.join(root, 'empty.txt'), '');
  writeFileSync(path.join(root, 'run.sh'), '#!/bin/sh\necho restored\n');
  chmodSync(path.join(root, 'run.sh'), 0o755);
  symlinkSync('notes.txt', path.join(root, 'latest-notes'));
}

/** path → type, mode, mtime (to the ms: utimes takes float seconds) and content digest or link target. */
export function fingerprint(root: string, rel = '', out = new Map<string, string>()): Map<string, string> {
  const abs = path.join(root, rel);
  const st = lstatSync(abs);
  if (st.isSymbolicLink()) out.set(rel, `link ${readlinkSync(abs)}`);
  else if (st.isFile()) out.set(rel, `file ${(st.mode & 0o777).toString(8)} ${Math.round(st.mtimeMs)} ${createHash('sha256').update(readFileSync(abs)).digest('hex')}`);
  else if (st.isDirectory()) {
    if (rel) out.set(rel, `dir ${(st.mode & 0o777).toString(8)}`);
    for (const name of readdirSync(abs)) fingerprint(root, rel ? `${rel}/${name}` : name, out);
  }
  return out;
}

/** True when both trees have the same entries, modes, file mtimes and contents. */
export function sameTree(a: string, b: string): boolean {
  const fa = fingerprint(a);
  const fb = fingerprint(b);
  return fa.size === fb.size && [...fa].every(([k, v]) => fb.get(k) === v);
}
