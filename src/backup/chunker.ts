/**
 * Content-defined chunking with a gear rolling hash (as in FastCDC): a boundary falls where
 * the hash of the last bytes matches a mask, so an edit in the middle of a file changes only
 * the chunks around it. Sizes stay between `min` and `max`, about `avg` on average. Streams:
 * holds at most one chunk in memory.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GearScanner } from './gear-scan.js';

export interface ChunkSizes {
  min: number;
  avg: number;
  max: number;
}

export const DEFAULT_CHUNK_SIZES: ChunkSizes = { min: 256 * 1024, avg: 1024 * 1024, max: 4 * 1024 * 1024 };

/** Spare assembly buffers kept between splits: more than any caller splits at once (a backup reads 2 files at a time). */
const MAX_SPARE_ASSEMBLIES = 8;

export class Chunker {
  private readonly gear = new Uint32Array(256);
  private readonly mask: number;
  /** Built on first use: a Chunker made only for its settings costs no WebAssembly memory. */
  private scanner: GearScanner | null = null;
  /**
   * The buffers borrowed chunks that span reads are put together in, between splits: one per
   * split running at once (a backup reads a few files at a time). With a single spare, every
   * second small file of two read at once took a fresh max-size buffer: 4 MiB of external
   * memory per file, which made V8 run a full mark-compact every few dozen files (a backup of
   * 5,000 small files spent a third of its main thread in the collector).
   */
  private readonly spareAssemblies: Buffer[] = [];

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

  /**
   * Splits a stream into chunks. Each chunk is a copy, unless `borrow` is set: then a chunk is a
   * view of an input buffer or of one buffer the chunker reuses, valid only until the next chunk
   * is asked for (for a caller that reuses its read buffer and is done with each chunk at once).
   */
  async *split(stream: AsyncIterable<Buffer> | Readable, options: { borrow?: boolean } = {}): AsyncGenerator<Buffer> {
    const borrow = options.borrow ?? false;
    const { min, max } = this.sizes;
    // The hash shifts left one bit per byte in 32 bits, so it depends on the last 32 bytes
    // only: the first min - 32 bytes of a chunk need no hashing, and boundaries stay the same.
    const skip = Math.max(0, min - 32);
    const scanner = (this.scanner ??= new GearScanner(this.gear));
    const mask = this.mask;
    let parts: Buffer[] = [];
    let assembly: Buffer | null = null;
    let length = 0;
    let hash = 0;
    try {
      for await (const data of stream as AsyncIterable<Buffer>) {
        const n = data.length;
        let start = 0;
        let i = 0;
        while (i < n) {
          // Phase 1: jump over the bytes that cannot influence the next boundary.
          const before = length + (i - start);
          if (before < skip) {
            i = Math.min(n, i + (skip - before));
            continue;
          }
          // Phase 2: scan up to the next possible cut, the end of this buffer, or max (in
          // WebAssembly: gear-scan.ts). A boundary needs the chunk to hold at least min bytes
          // once byte i is in: offset + i + 1 >= min. Same boundaries as hashing every byte
          // (test/chunker.test.ts).
          const offset = before - i;
          const stop = Math.min(n, i + (max - before));
          let cut = scanner.scan(data, i, stop, hash, mask, min - 1 - offset);
          hash = scanner.hash;
          i = cut >= 0 ? cut : stop;
          if (cut < 0 && offset + i >= max) cut = i - 1;
          if (cut >= 0) {
            const tail = data.subarray(start, cut + 1);
            if (length === 0) yield borrow ? tail : Buffer.from(tail);
            else if (assembly) yield assembly.subarray(0, length + tail.copy(assembly, length));
            else yield Buffer.concat([...parts, tail]);
            parts = [];
            length = 0;
            hash = 0;
            start = cut + 1;
            i = cut + 1;
          }
        }
        if (start < n) {
          // Copied: the stream may reuse its buffer. Borrowing, into one buffer the chunker keeps
          // (takeAssembly): a new multi-megabyte buffer per chunk is garbage the allocator holds
          // on to until a collection, and the owner's RSS showed it.
          if (borrow) {
            assembly ??= this.takeAssembly();
            data.copy(assembly, length, start);
          } else {
            parts.push(Buffer.from(data.subarray(start)));
          }
          length += n - start;
        }
      }
      if (length > 0) yield assembly ? assembly.subarray(0, length) : Buffer.concat(parts);
    } finally {
      // Kept for the next split (a backup splits every file): one allocation, not one per file.
      if (assembly && this.spareAssemblies.length < MAX_SPARE_ASSEMBLIES) this.spareAssemblies.push(assembly);
    }
  }

  private takeAssembly(): Buffer {
    return this.spareAssemblies.pop() ?? Buffer.allocUnsafeSlow(this.sizes.max);
  }
}
