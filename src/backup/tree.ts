/**
 * Walks a file or directory tree for a backup: every entry with its type, mode, mtime and
 * size, directories before their contents, names sorted so snapshots are stable. Symlinks
 * are recorded, never followed. Other kinds (sockets, devices) are skipped. `exclude`
 * (exclude.ts) is asked about each entry below the root before it is read; a directory it
 * leaves out is not descended into.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ExcludeEntry } from './exclude.js';
import type { TreeEntry } from './formats.js';

export async function* scanTree(root: string, exclude: ExcludeEntry | null = null): AsyncGenerator<{ entry: TreeEntry; absolute: string }> {
  const stat = await fs.lstat(root).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? `nothing to back up at ${root}: no such file or directory` : `cannot read ${root}: ${err.message}`);
  });
  if (stat.isFile()) {
    // A single file: it becomes the snapshot's only entry, under its own name.
    yield { entry: { path: path.basename(root), type: 'file', mode: stat.mode, mtimeMs: stat.mtimeMs, size: stat.size }, absolute: root };
    return;
  }
  yield* walk(root, '', exclude);
}

async function* walk(absolute: string, relative: string, exclude: ExcludeEntry | null): AsyncGenerator<{ entry: TreeEntry; absolute: string }> {
  const stat = await fs.lstat(absolute);
  if (exclude && relative !== '') {
    const type = stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : 'other';
    if (await exclude({ relPath: relative, absPath: absolute, type, dev: stat.dev })) return;
  }
  const base = { path: relative, mode: stat.mode, mtimeMs: stat.mtimeMs, size: stat.size };
  if (stat.isSymbolicLink()) {
    yield { entry: { ...base, type: 'symlink', target: await fs.readlink(absolute) }, absolute };
  } else if (stat.isFile()) {
    yield { entry: { ...base, type: 'file' }, absolute };
  } else if (stat.isDirectory()) {
    yield { entry: { ...base, type: 'dir', size: 0 }, absolute };
    const names = (await fs.readdir(absolute)).sort();
    for (const name of names) yield* walk(path.join(absolute, name), relative ? `${relative}/${name}` : name, exclude);
  }
}
