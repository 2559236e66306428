/**
 * Packs sealed chunks into shard files in the outbox, and hands each one on once it reaches
 * the target size (or at the end), finished and hashed.
 */
import type { ShardDigest } from '../storage/merkle.js';
import { ShardWriter } from './shard-writer.js';

export class ShardPacker {
  private writer: ShardWriter | null = null;

  constructor(
    private readonly outbox: string,
    /** bytes: a shard is handed on once it holds at least this much. */
    private readonly shardSize: number,
    /** Takes a finished shard: places it, or discards it. */
    private readonly ship: (writer: ShardWriter, digest: ShardDigest) => Promise<void>,
  ) {}

  async add(id: Uint8Array, sealed: Uint8Array): Promise<void> {
    const w = (this.writer ??= new ShardWriter(this.outbox));
    await w.add(id, sealed);
    if (w.size >= this.shardSize) await this.flush();
  }

  /** Finishes the shard being filled, if it holds anything, and hands it on. */
  async flush(): Promise<void> {
    const w = this.writer;
    if (!w || w.chunks.length === 0) return;
    this.writer = null;
    let digest: ShardDigest;
    try {
      digest = await w.finish();
    } catch (err) {
      await w.discard();
      throw err;
    }
    await this.ship(w, digest);
  }

  /** Removes the shard being filled (the backup failed). */
  async discard(): Promise<void> {
    await this.writer?.discard();
    this.writer = null;
  }
}
