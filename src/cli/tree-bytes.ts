/**
 * Bytes under a path (files only), for the backup's progress bar: a quick stat walk that leaves
 * out what the backup will leave out (the same exclude predicate, src/backup/exclude.ts), so
 * the bar reaches its end. Only an estimate: an entry it cannot stat or list counts 0, and the
 * backup itself reports what it could not read.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ExcludeEntry } from '../backup/exclude.js';

export async function treeBytes(p: string, exclude: ExcludeEntry | null = null, rel = ''): Promise<number> {
  const st = await fs.lstat(p).catch(() => null);
  if (!st) return 0;
  const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  if (exclude && rel !== '' && (await exclude({ relPath: rel, absPath: p, type, dev: st.dev }).catch(() => false))) return 0;
  if (type === 'file') return st.size;
  if (type !== 'dir') return 0;
  let total = 0;
  for (const name of (await fs.readdir(p).catch(() => [])).sort()) total += await treeBytes(path.join(p, name), exclude, rel ? `${rel}/${name}` : name);
  return total;
}
