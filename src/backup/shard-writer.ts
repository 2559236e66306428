/**
 * Packs sealed chunks into a shard file in the owner's outbox until it reaches its target
 * size, so that one contract covers many chunks. The shard is hashed as it is written (leaf
 * hashes on a worker thread, the same bytes written in 1 MiB writes), so placing it needs no
 * second read of the file. Written with direct I/O where the filesystem allows: the owner's copy
 * is read back for uploads and repairs, not kept in the page cache (util/direct-io.ts).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { digestFromLeaves, type ShardDigest } from '../storage/merkle.js';
import { ParallelShardHasher } from '../storage/parallel-hasher.js';
import { DirectWriteFile } from '../util/direct-io.js';

export interface PackedChunk {
  id: Uint8Array;
  offset: number;
  length: number;
}

export class ShardWriter {
  readonly file: string;
  readonly chunks: PackedChunk[] = [];
  private handle: DirectWriteFile | null = null;
  private hasher: ParallelShardHasher | null = null;
  size = 0;

  constructor(dir: string) {
    this.file = path.join(dir, `${randomBytes(8).toString('hex')}.shard`);
  }

  /** Appends a sealed chunk, given whole or in parts (copied once, into the write buffer); returns where it landed. */
  async add(id: Uint8Array, sealed: Uint8Array | Uint8Array[]): Promise<PackedChunk> {
    const handle = (this.handle ??= await DirectWriteFile.create(this.file));
    this.hasher ??= new ParallelShardHasher({ sink: (data, position) => handle.write(data, position) });
    let length = 0;
    for (const part of Array.isArray(sealed) ? sealed : [sealed]) {
      await this.hasher.write(part);
      length += part.length;
    }
    const packed = { id, offset: this.size, length };
    this.chunks.push(packed);
    this.size += length;
    return packed;
  }

  /** Writes what is buffered, makes the file durable, closes it, and returns the shard's digest. */
  async finish(): Promise<ShardDigest> {
    const handle = (this.handle ??= await DirectWriteFile.create(this.file));
    const digest = this.hasher ? await this.hasher.digest() : digestFromLeaves([], 0);
    await handle.sync();
    await handle.close();
    this.handle = null;
    return digest;
  }

  async discard(): Promise<void> {
    await this.hasher?.settle();
    // The file is removed next: a failed close loses nothing.
    await this.handle?.close().catch(() => {});
    this.handle = null;
    await fs.rm(this.file, { force: true });
  }
}
