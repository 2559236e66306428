/**
 * Packs sealed chunks into shard files in the outbox, and hands each one on once it reaches
 * the target size (or at the end), finished and hashed.
 */
import type { ShardDigest } from '../storage/merkle.js';
import { type PackedChunk, ShardWriter } from './shard-writer.js';

export class ShardPacker {
  private writer: ShardWriter | null = null;

  constructor(
    private readonly outbox: string,
    /** bytes: a shard is handed on once it holds at least this much. */
    private readonly shardSize: number,
    /** Takes a finished shard: places it, or discards it. */
    private readonly ship: (writer: ShardWriter, digest: ShardDigest) => Promise<void>,
  ) {}

  /**
   * Appends a sealed chunk or blob; hands the shard on once it is full, unless `hold` (the
   * backup's closing metadata, which must land in the shard it describes as "its own").
   */
  async add(id: Uint8Array, sealed: Uint8Array | Uint8Array[], options: { hold?: boolean } = {}): Promise<PackedChunk & { writer: ShardWriter }> {
    const w = (this.writer ??= new ShardWriter(this.outbox));
    const packed = await w.add(id, sealed);
    if (!options.hold && w.size >= this.shardSize) await this.flush();
    return { ...packed, writer: w };
  }

  /** The shard being filled (null: none yet, the next add starts one). */
  get open(): ShardWriter | null {
    return this.writer;
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
