/**
 * Content-defined chunking with a gear rolling hash (as in FastCDC): a boundary falls where
 * the hash of the last bytes matches a mask, so an edit in the middle of a file changes only
 * the chunks around it. Sizes stay between `min` and `max`, about `avg` on average. Streams:
 * holds at most one chunk in memory.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

export interface ChunkSizes {
  min: number;
  avg: number;
  max: number;
}

export const DEFAULT_CHUNK_SIZES: ChunkSizes = { min: 256 * 1024, avg: 1024 * 1024, max: 4 * 1024 * 1024 };

export class Chunker {
  private readonly gear = new Uint32Array(256);
  private readonly mask: number;

  constructor(
    seed: Uint8Array,
    readonly sizes: ChunkSizes = DEFAULT_CHUNK_SIZES,
  ) {
    if (!(sizes.min > 0 && sizes.min <= sizes.avg && sizes.avg <= sizes.max)) throw new Error('chunk sizes must satisfy 0 < min <= avg <= max');
    // The table comes from the key: boundaries depend on data and key together.
    for (let i = 0; i < 256; i += 8) {
      const block = createHash('sha256').update(seed).update(Uint8Array.of(i)).digest();
      for (let j = 0; j < 8; j++) this.gear[i + j] = block.readUInt32BE(j * 4);
    }
    const bits = Math.max(1, Math.round(Math.log2(sizes.avg - sizes.min + 1)));
    this.mask = bits >= 32 ? 0xffffffff : ((1 << bits) - 1) << (32 - bits);
  }

  /** Splits a stream into chunks. */
  async *split(stream: AsyncIterable<Buffer> | Readable): AsyncGenerator<Buffer> {
    const { min, max } = this.sizes;
    // The hash shifts left one bit per byte in 32 bits, so it depends on the last 32 bytes
    // only: the first min - 32 bytes of a chunk need no hashing, and boundaries stay the same.
    const skip = Math.max(0, min - 32);
    const gear = this.gear;
    const mask = this.mask;
    let parts: Buffer[] = [];
    let length = 0;
    let hash = 0;
    for await (const data of stream as AsyncIterable<Buffer>) {
      let start = 0;
      let i = 0;
      while (i < data.length) {
        const before = length + (i - start);
        if (before < skip) {
          i = Math.min(data.length, i + (skip - before));
          continue;
        }
        hash = ((hash << 1) + gear[data[i]!]!) >>> 0;
        const size = before + 1;
        if ((size >= min && (hash & mask) === 0) || size >= max) {
          parts.push(data.subarray(start, i + 1));
          yield parts.length === 1 ? Buffer.from(parts[0]!) : Buffer.concat(parts);
          parts = [];
          length = 0;
          hash = 0;
          start = i + 1;
        }
        i++;
      }
      if (start < data.length) {
        // Copied: the stream may reuse its buffer.
        parts.push(Buffer.from(data.subarray(start)));
        length += data.length - start;
      }
    }
    if (length > 0) yield Buffer.concat(parts);
  }
}
