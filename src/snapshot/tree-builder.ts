/**
 * Builds a snapshot's trees bottom-up while walking the source depth-first: each directory's
 * listing becomes a tree blob once its subdirectories have theirs, and its ID goes into the
 * parent's listing. Held in memory at any time: the listings of the directories on the current
 * path (and their parent-snapshot twins), so memory grows with depth × largest directory, never
 * with the whole tree.
 *
 * Work saved against a parent snapshot (restic's rules, plus the watcher's):
 * - files cache: a file whose size, mtime, ctime and inode equal its entry in the parent's same
 *   directory keeps that entry's chunk list; `saveFile` is not called, the file is not opened.
 *   ctime and inode catch a rewrite within the mtime's resolution that kept the size, and a file
 *   replaced by another (rename over it). The device number is stored but not compared: it can
 *   change across reboots for network and FUSE mounts (restic does the same by default).
 * - `changedPaths`: a directory on no changed path whose inode, mtime and ctime equal the
 *   parent's keeps the parent's subtree ID without being listed at all (events can be missed,
 *   so the caller should still run a full walk now and then — just leave `changedPaths` out).
 * - an unchanged directory encodes to the same blob, so `saveBlob` finds it and stores nothing.
 * `force` turns the first two off: every file is read and every directory listed.
 */
import { ChangedPaths } from './changed-paths.js';
import { DEFAULTS } from './constants.js';
import { type FsEntryType, type FsReader, type FsStat, joinPath, nodeFsReader } from './fs-reader.js';
import type { SaveBlob } from './ports.js';
import { Slots } from './slots.js';
import { compareNames, encodeChunkList, encodeTree, type TreeNode } from './tree-format.js';
import type { LoadTree } from './tree-walker.js';

/** The pipeline's file stage: chunks, seals and packs a file's data; returns its chunk IDs in order. */
export type SaveFile = (absPath: string, stat: FsStat) => Promise<Uint8Array[]>;

export interface TreeBuilderPorts {
  saveFile: SaveFile;
  saveBlob: SaveBlob;
  /** Default: node:fs. */
  fs?: FsReader;
  /** Needed when `parent` is given: reads and decodes a tree of the parent snapshot. */
  loadTree?: LoadTree;
}

export interface TreeBuilderOptions {
  /** Root tree ID of the parent snapshot (same source), or absent for a first backup. */
  parent?: Uint8Array;
  /** Read every file and list every directory, trusting nothing of the parent. */
  force?: boolean;
  /** Paths the watcher saw change, relative to the source, '/'-separated; absent: walk everything. */
  changedPaths?: Iterable<string>;
  /** Chunk IDs kept inline in a tree entry (see DEFAULTS.inlineChunkIds). */
  inlineChunkIds?: number;
  /** Chunk IDs per chunk-list blob (see DEFAULTS.chunkListIds). */
  chunkListIds?: number;
  /** Files of one directory handed to `saveFile` at once (see DEFAULTS.fileConcurrency). */
  fileConcurrency?: number;
  /**
   * Asked about each entry below the source before it is read (src/backup/exclude.ts builds
   * one from --exclude and friends); true leaves it out, a directory without being listed.
   */
  exclude?: (entry: { relPath: string; absPath: string; type: FsEntryType; dev: number }) => boolean | Promise<boolean>;
}

export interface TreeBuildStats {
  filesRead: number;
  filesReused: number;
  /** Bytes of files handed to `saveFile`, and of files that kept their parent's chunks. */
  bytesRead: number;
  bytesReused: number;
  dirs: number;
  /** Tree blobs `saveBlob` stored, and those it already had. */
  treesStored: number;
  treesReused: number;
  /** Directories that kept the parent's subtree without being listed (`changedPaths`). */
  dirsSkipped: number;
  symlinks: number;
  /** Sockets, devices, FIFOs: not backed up. */
  otherSkipped: number;
  /** Entries listed but gone by the time they were read (deleted during the backup): left out. */
  vanished: number;
  /** Entries the `exclude` hook left out (a directory counts once, whatever was under it). */
  excluded: number;
  /**
   * Parent-snapshot trees that could not be loaded (lost shard, damaged blob): those
   * directories were backed up as if new, which is correct, only slower. Worth a warning.
   */
  parentTreeErrors: number;
}

export interface TreeBuildResult {
  root: Uint8Array;
  stats: TreeBuildStats;
}

/**
 * Backs up the tree at `source` (a directory; a single file or link becomes a one-entry root
 * listing under its own name) and returns the root tree's ID.
 */
export async function buildTree(source: string, ports: TreeBuilderPorts, options: TreeBuilderOptions = {}): Promise<TreeBuildResult> {
  const builder = new TreeBuilder(ports, options);
  const fsr = ports.fs ?? nodeFsReader;
  const stat = await fsr.lstat(source);
  const parentRoot = options.parent && !options.force ? await builder.parentListing(options.parent) : null;
  let root: Uint8Array;
  if (stat.type === 'dir') {
    root = await builder.directory(source, '', parentRoot);
  } else {
    const name = source.replace(/\/+$/, '').split('/').pop()!;
    const node = await builder.entry(source, name, name, stat, parentRoot?.find((n) => n.name === name));
    root = await builder.store(node ? [node] : []);
  }
  return { root, stats: builder.stats };
}

class TreeBuilder {
  readonly stats: TreeBuildStats = { filesRead: 0, filesReused: 0, bytesRead: 0, bytesReused: 0, dirs: 0, treesStored: 0, treesReused: 0, dirsSkipped: 0, symlinks: 0, otherSkipped: 0, vanished: 0, excluded: 0, parentTreeErrors: 0 };
  private readonly fs: FsReader;
  private readonly changed: ChangedPaths | null;
  private readonly inlineIds: number;
  private readonly listIds: number;
  private readonly fileConcurrency: number;

  constructor(
    private readonly ports: TreeBuilderPorts,
    private readonly options: TreeBuilderOptions,
  ) {
    this.fs = ports.fs ?? nodeFsReader;
    this.changed = options.changedPaths && !options.force ? new ChangedPaths(options.changedPaths) : null;
    this.inlineIds = options.inlineChunkIds ?? DEFAULTS.inlineChunkIds;
    this.listIds = options.chunkListIds ?? DEFAULTS.chunkListIds;
    this.fileConcurrency = options.fileConcurrency ?? DEFAULTS.fileConcurrency;
    if (options.parent && !ports.loadTree) throw new Error('a parent snapshot needs the loadTree port');
  }

  /** Lists, builds and stores one directory; `previous` is the parent snapshot's listing of it. */
  async directory(absPath: string, relPath: string, previous: TreeNode[] | null): Promise<Uint8Array> {
    this.stats.dirs++;
    const names = (await this.fs.readdir(absPath)).sort(compareNames);
    // Each entry's node goes to its own place, so files saved concurrently keep the order.
    const nodes: (TreeNode | null)[] = new Array<TreeNode | null>(names.length).fill(null);
    const files = new Slots(this.fileConcurrency);
    let p = 0; // merge position in `previous`, which is sorted by the same order
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      while (previous && p < previous.length && compareNames(previous[p]!.name, name) < 0) p++;
      const prev = previous && p < previous.length && previous[p]!.name === name ? previous[p] : undefined;
      const childAbs = joinPath(absPath, name);
      const childRel = relPath ? `${relPath}/${name}` : name;
      const stat = await this.lstat(childAbs);
      if (!stat) continue;
      if (this.options.exclude && (await this.options.exclude({ relPath: childRel, absPath: childAbs, type: stat.type, dev: stat.dev }))) {
        this.stats.excluded++;
        continue;
      }
      if (stat.type === 'file') {
        await files.run(async () => {
          nodes[i] = await this.entry(childAbs, name, childRel, stat, prev);
        });
      } else {
        nodes[i] = await this.entry(childAbs, name, childRel, stat, prev);
      }
    }
    await files.drain();
    return this.store(nodes.filter((n): n is TreeNode => n !== null));
  }

  /** A parent-snapshot listing, or null (counted) if it cannot be loaded: the directory is then read as new. */
  async parentListing(id: Uint8Array): Promise<TreeNode[] | null> {
    try {
      return await this.ports.loadTree!(id);
    } catch {
      this.stats.parentTreeErrors++;
      return null;
    }
  }

  /** lstat, or null (counted in `vanished`) for an entry deleted since it was listed. */
  private async lstat(absPath: string): Promise<FsStat | null> {
    try {
      return await this.fs.lstat(absPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.stats.vanished++;
      return null;
    }
  }

  /**
   * One entry's node, reusing what the parent snapshot had where the rules allow. An entry
   * deleted while the backup runs (ENOENT from any step, the pipeline's `saveFile` included) is
   * counted in `vanished` and left out, as restic does; every other error fails the backup.
   */
  async entry(absPath: string, name: string, relPath: string, stat: FsStat, prev: TreeNode | undefined): Promise<TreeNode | null> {
    try {
      return await this.node(absPath, name, relPath, stat, prev);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.stats.vanished++;
      return null;
    }
  }

  private async node(absPath: string, name: string, relPath: string, stat: FsStat, prev: TreeNode | undefined): Promise<TreeNode | null> {
    const base = { name, mode: stat.mode, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, inode: stat.inode, dev: stat.dev, size: stat.size };
    switch (stat.type) {
      case 'file':
        return { ...base, type: 'file', ...(await this.fileContent(absPath, stat, prev)) };
      case 'dir': {
        const subtree = await this.subtree(absPath, relPath, stat, prev);
        return { ...base, type: 'dir', subtree };
      }
      case 'symlink':
        this.stats.symlinks++;
        return { ...base, type: 'symlink', target: await this.fs.readlink(absPath) };
      default:
        this.stats.otherSkipped++;
        return null;
    }
  }

  private async fileContent(absPath: string, stat: FsStat, prev: TreeNode | undefined): Promise<Pick<TreeNode, 'chunks' | 'chunkLists'>> {
    if (!this.options.force && prev?.type === 'file' && prev.size === stat.size && prev.mtimeMs === stat.mtimeMs && prev.ctimeMs === stat.ctimeMs && prev.inode === stat.inode) {
      this.stats.filesReused++;
      this.stats.bytesReused += stat.size;
      return prev.chunkLists ? { chunkLists: prev.chunkLists } : { chunks: prev.chunks! };
    }
    this.stats.filesRead++;
    this.stats.bytesRead += stat.size;
    const ids = await this.ports.saveFile(absPath, stat);
    if (ids.length <= this.inlineIds) return { chunks: ids };
    const chunkLists: Uint8Array[] = [];
    for (let i = 0; i < ids.length; i += this.listIds) chunkLists.push((await this.ports.saveBlob('chunks', encodeChunkList(ids.slice(i, i + this.listIds)))).id);
    return { chunkLists };
  }

  private async subtree(absPath: string, relPath: string, stat: FsStat, prev: TreeNode | undefined): Promise<Uint8Array> {
    const twin = prev?.type === 'dir' ? prev : undefined;
    if (this.changed && twin && !this.changed.mayHaveChanged(relPath) && twin.inode === stat.inode && twin.mtimeMs === stat.mtimeMs && twin.ctimeMs === stat.ctimeMs) {
      this.stats.dirsSkipped++;
      return twin.subtree!;
    }
    const previous = twin && !this.options.force ? await this.parentListing(twin.subtree!) : null;
    return this.directory(absPath, relPath, previous);
  }

  async store(nodes: TreeNode[]): Promise<Uint8Array> {
    const saved = await this.ports.saveBlob('tree', encodeTree(nodes));
    if (saved.stored) this.stats.treesStored++;
    else this.stats.treesReused++;
    return saved.id;
  }
}
