/**
 * In-memory fakes for the snapshot ports: a content-addressed blob store (a Map, keyed HMAC IDs),
 * a file system whose reads are counted and whose files can be made unreadable, and a chunker
 * stand-in for `saveFile` that records every file it opened.
 */
import { createHmac } from 'node:crypto';
import type { FsReader, FsStat } from '../../src/snapshot/fs-reader.js';
import type { BlobKind, KeyedHash, LoadBlob, SaveBlob } from '../../src/snapshot/ports.js';
import type { SaveFile } from '../../src/snapshot/tree-builder.js';
import { decodeTree } from '../../src/snapshot/tree-format.js';
import type { LoadTree } from '../../src/snapshot/tree-walker.js';

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export const testHash: KeyedHash = (bytes) => new Uint8Array(createHmac('sha256', 'test id key').update(bytes).digest());

/** Blobs by ID; counts what was stored per kind, and every save asked. */
export class MemoryBlobStore {
  readonly blobs = new Map<string, Buffer>();
  readonly stored: Record<BlobKind | 'data', number> = { tree: 0, chunks: 0, index: 0, catalog: 0, data: 0 };
  loads = 0;

  put(kind: BlobKind | 'data', bytes: Uint8Array): { id: Uint8Array; stored: boolean } {
    const id = testHash(bytes);
    const key = hex(id);
    if (this.blobs.has(key)) return { id, stored: false };
    this.blobs.set(key, Buffer.from(bytes)); // a copy: external memory, not the JS heap
    this.stored[kind]++;
    return { id, stored: true };
  }

  readonly save: SaveBlob = async (kind, bytes) => this.put(kind, bytes);

  readonly load: LoadBlob = async (id) => {
    this.loads++;
    const blob = this.blobs.get(hex(id));
    if (!blob) throw new Error(`no blob ${hex(id).slice(0, 12)}`);
    return blob;
  };

  readonly loadTree: LoadTree = async (id) => decodeTree(await this.load(id));
}

interface FakeEntry {
  stat: FsStat;
  content?: Buffer;
  target?: string;
  unreadable?: boolean;
}

/**
 * A file system in a Map of absolute paths. Times come from a manual clock (`tick`); every
 * change sets ctime, writes set mtime; `setMtime` puts mtime back (like utimes), not ctime.
 */
export class FakeFs implements FsReader {
  private readonly entries = new Map<string, FakeEntry>();
  private nextInode = 100;
  now = 1_700_000_000_000;
  readonly calls = { readdir: 0, lstat: 0, readlink: 0, readFile: 0 };
  readonly readdirPaths: string[] = [];

  constructor() {
    this.entries.set('/src', { stat: this.stat('dir', 0o755, 0) });
  }

  tick(ms = 1000): void {
    this.now += ms;
  }

  private stat(type: FsStat['type'], mode: number, size: number): FsStat {
    return { type, mode, mtimeMs: this.now, ctimeMs: this.now, inode: this.nextInode++, dev: 1, size };
  }

  private parentOf(p: string): string {
    return p.slice(0, p.lastIndexOf('/'));
  }

  private touchParent(p: string): void {
    const parent = this.entries.get(this.parentOf(p));
    if (!parent || parent.stat.type !== 'dir') throw new Error(`no directory for ${p}`);
    parent.stat = { ...parent.stat, mtimeMs: this.now, ctimeMs: this.now };
  }

  mkdir(p: string, mode = 0o755): void {
    this.touchParent(p);
    this.entries.set(p, { stat: this.stat('dir', mode, 0) });
  }

  /** Writes a file: a new one gets a new inode; an existing one keeps its inode (in place). */
  writeFile(p: string, content: string | Buffer, mode = 0o644): void {
    const data = Buffer.from(content);
    const old = this.entries.get(p);
    if (old && old.stat.type === 'file') {
      old.content = data;
      old.stat = { ...old.stat, size: data.length, mtimeMs: this.now, ctimeMs: this.now };
      return;
    }
    this.touchParent(p);
    this.entries.set(p, { stat: this.stat('file', mode, data.length), content: data });
  }

  symlink(p: string, target: string): void {
    this.touchParent(p);
    this.entries.set(p, { stat: this.stat('symlink', 0o777, target.length), target });
  }

  setMtime(p: string, mtimeMs: number): void {
    const e = this.get(p);
    e.stat = { ...e.stat, mtimeMs, ctimeMs: this.now };
  }

  chmod(p: string, mode: number): void {
    const e = this.get(p);
    e.stat = { ...e.stat, mode, ctimeMs: this.now };
  }

  /** Makes reads of a file's contents fail (what chmod 000 does for anyone but root). */
  makeUnreadable(p: string): void {
    this.get(p).unreadable = true;
  }

  /** Replaces `p`'s entry wholesale (a rename over it): new inode, the given stat fields kept. */
  replaceWith(p: string, content: string, fields: Partial<FsStat>): void {
    this.entries.set(p, { stat: { ...this.stat('file', 0o644, Buffer.byteLength(content)), ...fields }, content: Buffer.from(content) });
  }

  rm(p: string): void {
    for (const key of [...this.entries.keys()]) if (key === p || key.startsWith(`${p}/`)) this.entries.delete(key);
    this.touchParent(p);
  }

  rename(from: string, to: string): void {
    for (const [key, e] of [...this.entries]) {
      if (key === from || key.startsWith(`${from}/`)) {
        this.entries.delete(key);
        this.entries.set(to + key.slice(from.length), e);
      }
    }
    this.touchParent(from);
    this.touchParent(to);
  }

  private get(p: string): FakeEntry {
    const e = this.entries.get(p);
    if (!e) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
    return e;
  }

  async readdir(p: string): Promise<string[]> {
    this.calls.readdir++;
    this.readdirPaths.push(p);
    if (this.get(p).stat.type !== 'dir') throw new Error(`ENOTDIR: ${p}`);
    const prefix = `${p}/`;
    return [...this.entries.keys()].filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes('/')).map((k) => k.slice(prefix.length));
  }

  async lstat(p: string): Promise<FsStat> {
    this.calls.lstat++;
    return { ...this.get(p).stat };
  }

  async readlink(p: string): Promise<string> {
    this.calls.readlink++;
    return this.get(p).target!;
  }

  async readFile(p: string): Promise<Buffer> {
    this.calls.readFile++;
    const e = this.get(p);
    if (e.unreadable) throw Object.assign(new Error(`EACCES: permission denied, open '${p}'`), { code: 'EACCES' });
    return e.content!;
  }
}

/**
 * A `saveFile` that reads the file through `read`, cuts it into `chunkBytes` pieces and stores
 * them as data blobs; `opened` lists every path it read, in order.
 */
export function chunkingSaver(store: MemoryBlobStore, read: (absPath: string) => Promise<Buffer>, chunkBytes = 4): SaveFile & { opened: string[] } {
  const opened: string[] = [];
  const save = async (absPath: string) => {
    opened.push(absPath);
    const data = await read(absPath);
    const ids: Uint8Array[] = [];
    for (let off = 0; off < data.length; off += chunkBytes) ids.push(store.put('data', data.subarray(off, off + chunkBytes)).id);
    return ids;
  };
  return Object.assign(save, { opened });
}
