/**
 * The host's shard store: content-addressed files under `<dataDir>/shards/ab/cd/<shard ID>`.
 *
 * A shard is streamed into a temporary file while its Merkle leaves are hashed (on a worker
 * thread), fsynced, and renamed into place only when size, ID and Merkle root all match what
 * the contract says. Its leaf hashes are kept beside it (`<shard ID>.tree`, 32 bytes per 64 KiB) so
 * audits read only the sampled leaves. A shard that did not arrive whole never appears under
 * its name; leftovers of interrupted writes are removed when the store opens.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { toHex } from '../util/bytes.js';
import { fsyncDir, writeFileAtomic } from '../util/atomic-file.js';
import { DirectWriteFile } from '../util/direct-io.js';
import { buildLevels, HASH_BYTES, LEAF_SIZE, leafCount, proofFor, type ShardDigest } from './merkle.js';
import { ParallelShardHasher } from './parallel-hasher.js';
import { type Clock, systemClock } from '../util/clock.js';
import type { DiskOptions } from './constants.js';
import { DiskSpace, isDiskFull } from './disk-space.js';
import { isIoError, isReadOnlyError, READ_ONLY_TEXT } from './read-only.js';

/** Bytes per file write on receive, and slots in flight (memory per upload: their product). */
const WRITE_BYTES = 1024 * 1024;
const WRITE_SLOTS = 4;
/** Dirty bytes after which a receive starts a background fdatasync. */
const FLUSH_EVERY = 32 * 1024 * 1024;

export type ShardErrorCode = 'SIZE_MISMATCH' | 'HASH_MISMATCH' | 'ROOT_MISMATCH' | 'NOT_STORED' | 'DISK_FULL' | 'UNREADABLE' | 'READ_ONLY';

export class ShardError extends Error {
  constructor(
    readonly code: ShardErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ShardError';
  }
}

export interface ExpectedShard {
  hash: Uint8Array;
  size: number;
  merkleRoot: Uint8Array;
}

export interface ProvenLeaf {
  index: number;
  data: Uint8Array;
  path: Uint8Array[];
}

/**
 * Starts an fdatasync in the background every FLUSH_EVERY bytes, one at a time, so the disk
 * works while bytes still arrive and the fsync before the answer has little left to do. Only
 * the final fsync counts for durability; these just spread the work.
 */
class BackgroundFlush {
  private dirty = 0;
  private running: Promise<void> | null = null;
  private failure: unknown = null;

  constructor(private readonly file: fs.FileHandle) {}

  wrote(bytes: number): void {
    this.dirty += bytes;
    if (this.dirty < FLUSH_EVERY || this.running) return;
    this.dirty = 0;
    this.running = this.file.datasync().then(
      () => {
        this.running = null;
      },
      (err: unknown) => {
        this.failure ??= err;
        this.running = null;
      },
    );
  }

  async idle(): Promise<void> {
    await this.running;
    if (this.failure) throw this.failure;
  }
}

export class ShardStore {
  private readonly tmpDir: string;
  /** The real free space of the file system under `dir` (what the host may still promise). */
  readonly space: DiskSpace;

  private constructor(
    readonly dir: string,
    options: { clock?: Pick<Clock, 'now'>; disk?: Partial<DiskOptions> },
  ) {
    this.tmpDir = path.join(dir, 'tmp');
    this.space = new DiskSpace(dir, options.clock ?? systemClock, options.disk);
  }

  /**
   * Opens (creating if needed) the store, removes leftovers of interrupted writes, and takes a
   * first sample of the disk's free space.
   */
  static async open(dir: string, options: { clock?: Pick<Clock, 'now'>; disk?: Partial<DiskOptions> } = {}): Promise<ShardStore> {
    const store = new ShardStore(dir, options);
    await fs.mkdir(store.tmpDir, { recursive: true, mode: 0o700 });
    for (const name of await fs.readdir(store.tmpDir)) await fs.rm(path.join(store.tmpDir, name), { force: true });
    // A tree written just before a crash, whose shard never got renamed in, is a leftover too.
    for (const hash of await store.listTrees()) {
      if (!(await store.has(hash))) await fs.rm(store.treePath(hash), { force: true });
    }
    await store.space.refresh();
    return store;
  }

  shardPath(hash: Uint8Array): string {
    const hex = toHex(hash);
    return path.join(this.dir, hex.slice(0, 2), hex.slice(2, 4), hex);
  }

  private treePath(hash: Uint8Array): string {
    return `${this.shardPath(hash)}.tree`;
  }

  async has(hash: Uint8Array): Promise<boolean> {
    try {
      await fs.access(this.shardPath(hash));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Streams `source` into the store. Resolves once the shard is durable under its name;
   * rejects (keeping nothing) on a short or long stream, a wrong hash or a wrong root, or
   * when `source` is destroyed (a piped copy of a socket must be destroyed with it, as the
   * transfer server does, so that a cut connection ends the write). A disk that fills up
   * rejects with DISK_FULL, removes the partial file and starts a full episode on `space`.
   */
  async receive(expected: ExpectedShard, source: Readable, onChunk: (bytes: number) => void = () => {}): Promise<void> {
    const tmp = path.join(this.tmpDir, `${toHex(expected.hash)}.${randomBytes(6).toString('hex')}.part`);
    // Direct I/O: a host's shards are written once and rarely read, and filling the page
    // cache with them costs more CPU than the rest of the upload (util/direct-io.ts).
    const file = await DirectWriteFile.create(tmp).catch((err: unknown) => {
      throw this.writeFailure(err);
    });
    const flusher = new BackgroundFlush(file.handle);
    // Socket chunks (64 KiB) are gathered into slots of WRITE_BYTES: one write per slot, not
    // one thread-pool round trip per chunk; the same slot is hashed on the worker meanwhile.
    const hasher = new ParallelShardHasher({
      slotBytes: WRITE_BYTES,
      slots: WRITE_SLOTS,
      sink: async (data, position) => {
        await file.write(data, position);
        flusher.wrote(data.length);
      },
    });
    let got: ShardDigest | null = null;
    const sink = new Writable({
      highWaterMark: WRITE_BYTES,
      write(chunk: Buffer, _enc, done) {
        onChunk(chunk.length);
        if (hasher.size + chunk.length > expected.size) return done(new ShardError('SIZE_MISMATCH', `more than the ${expected.size} bytes the contract says`));
        hasher.write(chunk).then(() => done(), done);
      },
      final(done) {
        hasher.digest().then((d) => {
          got = d;
          done();
        }, done);
      },
    });
    try {
      await pipeline(source, sink);
      const d = got as ShardDigest | null;
      if (!d || d.size !== expected.size) throw new ShardError('SIZE_MISMATCH', `got ${d?.size ?? 0} bytes, the contract says ${expected.size}`);
      if (!Buffer.from(d.hash).equals(expected.hash)) throw new ShardError('HASH_MISMATCH', 'the shard ID does not match the contract');
      if (!Buffer.from(d.root).equals(expected.merkleRoot)) throw new ShardError('ROOT_MISMATCH', 'the Merkle root does not match the contract');
      // The background flushes kept the dirty pages few: this last sync is short.
      await flusher.idle();
      await file.sync();
      await file.close();
      const final = this.shardPath(expected.hash);
      await fs.mkdir(path.dirname(final), { recursive: true, mode: 0o700 });
      // The tree goes in first: a shard under its name always has its tree.
      await writeFileAtomic(this.treePath(expected.hash), Buffer.concat(d.leafHashes));
      await fs.rename(tmp, final);
      await fsyncDir(path.dirname(final));
      void this.space.refresh().catch(() => {});
    } catch (err) {
      // No write may still be running into the descriptor we close.
      await hasher.settle();
      await flusher.idle().catch(() => {});
      await file.close().catch(() => {});
      // On a file system gone read-only the partial file cannot be removed now: the next open's sweep of tmp/ does.
      await fs.rm(tmp, { force: true }).catch(() => {});
      await this.removeTreeIfAlone(expected.hash);
      throw this.writeFailure(err);
    }
  }

  /** A full or read-only disk as the typed refusal (and the start of its episode); anything else as it is. */
  private writeFailure(err: unknown): unknown {
    if (isDiskFull(err)) {
      this.space.ranOut();
      return new ShardError('DISK_FULL', "the host's disk is full");
    }
    // A write refused by a disk the kernel turned read-only may surface as EIO: the probe tells.
    if (isReadOnlyError(err) || (isIoError(err) && this.space.confirmReadOnly())) {
      this.space.ranReadOnly();
      return new ShardError('READ_ONLY', READ_ONLY_TEXT);
    }
    return err;
  }

  /** A tree written before the rename failed belongs to no shard. */
  private async removeTreeIfAlone(hash: Uint8Array): Promise<void> {
    if (!(await this.has(hash))) await fs.rm(this.treePath(hash), { force: true }).catch(() => {});
  }

  /** The stored shard's file and size; throws NOT_STORED if it is not here. */
  async locate(hash: Uint8Array): Promise<{ file: string; size: number }> {
    const file = this.shardPath(hash);
    try {
      return { file, size: (await fs.stat(file)).size };
    } catch {
      throw new ShardError('NOT_STORED', 'the shard is not stored here');
    }
  }

  /** The given leaves of a stored shard with their Merkle paths (what an audit asks for). */
  async proveLeaves(hash: Uint8Array, size: number, indexes: number[]): Promise<ProvenLeaf[]> {
    let tree: Buffer;
    let file: fs.FileHandle;
    try {
      tree = await fs.readFile(this.treePath(hash));
      file = await fs.open(this.shardPath(hash), 'r');
    } catch {
      throw new ShardError('NOT_STORED', 'the shard is not stored here');
    }
    try {
      const leaves: Uint8Array[] = [];
      for (let off = 0; off + HASH_BYTES <= tree.length; off += HASH_BYTES) leaves.push(tree.subarray(off, off + HASH_BYTES));
      const levels = buildLevels(leaves.length > 0 ? leaves : [new Uint8Array(HASH_BYTES)]);
      const out: ProvenLeaf[] = [];
      for (const index of indexes) {
        if (index < 0 || index >= leafCount(size)) continue;
        const length = Math.min(LEAF_SIZE, Math.max(0, size - index * LEAF_SIZE));
        const data = Buffer.alloc(length);
        // Whatever is on disk now is what we prove: a lost or altered byte fails the audit, and
        // so does a read error (EIO, a damaged file): the host answers it, it does not crash.
        const { bytesRead } = await file.read(data, 0, length, index * LEAF_SIZE).catch((err: NodeJS.ErrnoException) => {
          throw new ShardError('UNREADABLE', `the shard could not be read here (${err.code ?? err.message})`);
        });
        out.push({ index, data: data.subarray(0, bytesRead), path: proofFor(levels, index) });
      }
      return out;
    } finally {
      await file.close();
    }
  }

  async delete(hash: Uint8Array): Promise<void> {
    await fs.rm(this.shardPath(hash), { force: true });
    await fs.rm(this.treePath(hash), { force: true });
  }

  /** Hashes of the shards stored here. */
  async list(): Promise<Uint8Array[]> {
    return (await this.walk()).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => Uint8Array.from(Buffer.from(n, 'hex')));
  }

  private async listTrees(): Promise<Uint8Array[]> {
    return (await this.walk()).filter((n) => /^[0-9a-f]{64}\.tree$/.test(n)).map((n) => Uint8Array.from(Buffer.from(n.slice(0, 64), 'hex')));
  }

  private async walk(): Promise<string[]> {
    const names: string[] = [];
    for (const a of await fs.readdir(this.dir)) {
      if (!/^[0-9a-f]{2}$/.test(a)) continue;
      for (const b of await fs.readdir(path.join(this.dir, a))) {
        names.push(...(await fs.readdir(path.join(this.dir, a, b))));
      }
    }
    return names;
  }
}
