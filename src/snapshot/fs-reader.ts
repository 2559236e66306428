/**
 * The file-system port of the tree builder, and its default on node:fs. Only what a walk needs:
 * list a directory, lstat an entry, read a link. Reading file contents is not here: that is the
 * pipeline's `saveFile`, so a test can count exactly which files were opened.
 */
import { lstatSync, promises as fs } from 'node:fs';

export type FsEntryType = 'file' | 'dir' | 'symlink' | 'other';

/** What lstat says about an entry, reduced to what a tree node keeps. Times in milliseconds. */
export interface FsStat {
  type: FsEntryType;
  mode: number;
  mtimeMs: number;
  ctimeMs: number;
  inode: number;
  dev: number;
  size: number;
}

export interface FsReader {
  /** Entry names of a directory, in any order (the builder sorts them). */
  readdir(absPath: string): Promise<string[]>;
  /** The entry itself, never what a symlink points to. */
  lstat(absPath: string): Promise<FsStat>;
  readlink(absPath: string): Promise<string>;
}

/** Joins a directory and a name; the builder never uses '.' or '..' names. */
export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/**
 * The default reader: node:fs, stats as numbers (inodes past 2^53 lose low bits, see
 * tree-format.ts). lstat is a synchronous call: one per entry of the tree, and through the
 * thread pool each cost ~10x the CPU of the call itself (20,000 lstats here: 0.4 s against
 * 4 s, docs/benchmarks.md, backup). The event loop waits for each: microseconds from the
 * kernel's cache, one disk seek at worst on a cold spinning disk.
 */
export const nodeFsReader: FsReader = {
  readdir: (absPath) => fs.readdir(absPath),
  async lstat(absPath) {
    const s = lstatSync(absPath);
    const type: FsEntryType = s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : 'other';
    return { type, mode: s.mode, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, inode: s.ino, dev: s.dev, size: s.size };
  },
  readlink: (absPath) => fs.readlink(absPath),
};
