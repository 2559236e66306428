/**
 * The host's shard store: content-addressed files under `<dataDir>/shards/ab/cd/<sha256>`.
 *
 * A shard is streamed into a temporary file while its SHA-256 and Merkle leaves are computed,
 * fsynced, and renamed into place only when size, hash and Merkle root all match what the
 * contract says. Its leaf hashes are kept beside it (`<sha256>.tree`, 32 bytes per 64 KiB) so
 * audits read only the sampled leaves. A shard that did not arrive whole never appears under
 * its name; leftovers of interrupted writes are removed when the store opens.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { toHex } from '../dht/id.js';
import { fsyncDir, writeFileAtomic } from '../util/atomic-file.js';
import { buildLevels, HASH_BYTES, LEAF_SIZE, leafCount, proofFor, ShardHasher } from './merkle.js';

export type ShardErrorCode = 'SIZE_MISMATCH' | 'HASH_MISMATCH' | 'ROOT_MISMATCH' | 'NOT_STORED';

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

export class ShardStore {
  private readonly tmpDir: string;

  private constructor(readonly dir: string) {
    this.tmpDir = path.join(dir, 'tmp');
  }

  /** Opens (creating if needed) the store and removes leftovers of interrupted writes. */
  static async open(dir: string): Promise<ShardStore> {
    const store = new ShardStore(dir);
    await fs.mkdir(store.tmpDir, { recursive: true, mode: 0o700 });
    for (const name of await fs.readdir(store.tmpDir)) await fs.rm(path.join(store.tmpDir, name), { force: true });
    // A tree written just before a crash, whose shard never got renamed in, is a leftover too.
    for (const hash of await store.listTrees()) {
      if (!(await store.has(hash))) await fs.rm(store.treePath(hash), { force: true });
    }
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
   * when `source` is destroyed (pass the socket itself, not a `pipe()` of it, so that a cut
   * connection ends the write).
   */
  async receive(expected: ExpectedShard, source: Readable, onChunk: (bytes: number) => void = () => {}): Promise<void> {
    const tmp = path.join(this.tmpDir, `${toHex(expected.hash)}.${randomBytes(6).toString('hex')}.part`);
    const hasher = new ShardHasher();
    const check = new Transform({
      transform(chunk: Buffer, _enc, done) {
        onChunk(chunk.length);
        hasher.update(chunk);
        if (hasher.size > expected.size) done(new ShardError('SIZE_MISMATCH', `more than the ${expected.size} bytes the contract says`));
        else done(null, chunk);
      },
    });
    try {
      await pipeline(source, check, createWriteStream(tmp, { flags: 'wx', mode: 0o600, highWaterMark: 1024 * 1024 }));
      const got = hasher.digest();
      if (got.size !== expected.size) throw new ShardError('SIZE_MISMATCH', `got ${got.size} bytes, the contract says ${expected.size}`);
      if (!Buffer.from(got.hash).equals(expected.hash)) throw new ShardError('HASH_MISMATCH', 'the SHA-256 does not match the contract');
      if (!Buffer.from(got.root).equals(expected.merkleRoot)) throw new ShardError('ROOT_MISMATCH', 'the Merkle root does not match the contract');
      // fsync works on the file, whichever descriptor asks.
      const file = await fs.open(tmp, 'r+');
      try {
        await file.sync();
      } finally {
        await file.close();
      }
      const final = this.shardPath(expected.hash);
      await fs.mkdir(path.dirname(final), { recursive: true, mode: 0o700 });
      // The tree goes in first: a shard under its name always has its tree.
      await writeFileAtomic(this.treePath(expected.hash), Buffer.concat(got.leafHashes));
      await fs.rename(tmp, final);
      await fsyncDir(path.dirname(final));
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }

  /** A stream of the stored shard; throws NOT_STORED if it is not here. */
  async read(hash: Uint8Array): Promise<{ stream: Readable; size: number }> {
    const file = this.shardPath(hash);
    let size: number;
    try {
      size = (await fs.stat(file)).size;
    } catch {
      throw new ShardError('NOT_STORED', 'the shard is not stored here');
    }
    return { stream: createReadStream(file, { highWaterMark: LEAF_SIZE * 4 }), size };
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
        // Whatever is on disk now is what we prove: a lost or altered byte fails the audit.
        const { bytesRead } = await file.read(data, 0, length, index * LEAF_SIZE);
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
