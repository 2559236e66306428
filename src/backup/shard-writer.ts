/**
 * Packs sealed chunks into a shard file in the owner's outbox until it reaches its target
 * size, so that one contract covers many chunks.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface PackedChunk {
  id: Uint8Array;
  offset: number;
  length: number;
}

export class ShardWriter {
  readonly file: string;
  readonly chunks: PackedChunk[] = [];
  private handle: fs.FileHandle | null = null;
  size = 0;

  constructor(dir: string) {
    this.file = path.join(dir, `${randomBytes(8).toString('hex')}.shard`);
  }

  /** Appends a sealed chunk; returns where it landed. */
  async add(id: Uint8Array, sealed: Uint8Array): Promise<PackedChunk> {
    this.handle ??= await fs.open(this.file, 'wx', 0o600);
    await this.handle.write(sealed, 0, sealed.length, this.size);
    const packed = { id, offset: this.size, length: sealed.length };
    this.chunks.push(packed);
    this.size += sealed.length;
    return packed;
  }

  /** Makes the file durable and closes it. */
  async finish(): Promise<void> {
    if (!this.handle) this.handle = await fs.open(this.file, 'wx', 0o600);
    await this.handle.sync();
    await this.handle.close();
    this.handle = null;
  }

  async discard(): Promise<void> {
    await this.handle?.close().catch(() => {});
    this.handle = null;
    await fs.rm(this.file, { force: true });
  }
}
