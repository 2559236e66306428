import { expect } from 'chai';
import { createCipheriv, createHash } from 'node:crypto';
import { Chunker } from '../src/backup/chunker.js';
import { GearScanner } from '../src/backup/gear-scan.js';

const sizes = { min: 2048, avg: 8192, max: 32768 };

/** Fixed pseudo-random bytes (AES-CTR of zeros under a key from `seed`): the tests are deterministic. */
function seeded(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** The plain rolling-hash definition, byte by byte, as the reference for the optimised one. */
function referenceBoundaries(chunker: Chunker, data: Buffer): number[] {
  const gear = (chunker as unknown as { gear: Uint32Array }).gear;
  const mask = (chunker as unknown as { mask: number }).mask;
  const cuts: number[] = [];
  let hash = 0;
  let size = 0;
  for (let i = 0; i < data.length; i++) {
    hash = ((hash << 1) + gear[data[i]!]!) >>> 0;
    size++;
    if ((size >= sizes.min && (hash & mask) === 0) || size >= sizes.max) {
      cuts.push(i + 1);
      hash = 0;
      size = 0;
    }
  }
  if (size > 0) cuts.push(data.length);
  return cuts;
}

async function boundaries(chunker: Chunker, data: Buffer, piece: number): Promise<number[]> {
  const pieces: Buffer[] = [];
  for (let off = 0; off < data.length; off += piece) pieces.push(data.subarray(off, off + piece));
  const cuts: number[] = [];
  let at = 0;
  for await (const chunk of chunker.split((async function* () { yield* pieces; })())) cuts.push((at += chunk.length));
  return cuts;
}

describe('content-defined chunker', function () {
  this.timeout(10_000);
  const chunker = new Chunker(seeded('key', 32), sizes);
  const data = seeded('data', 600_000);

  it('cuts where the plain rolling hash says, however the stream is split', async () => {
    const expected = referenceBoundaries(chunker, data);
    for (const piece of [1000, 4096, 65536, data.length]) expect(await boundaries(chunker, data, piece)).to.deep.equal(expected);
    const lengths = expected.map((c, i) => c - (expected[i - 1] ?? 0));
    expect(lengths.slice(0, -1).every((l) => l >= sizes.min && l <= sizes.max)).to.equal(true);
  });

  it('cuts at max where the hash never matches, at buffer edges too, like the reference', async () => {
    // Constant bytes: the hash settles on one value, so (for most keys) only max cuts; pieces
    // of 32768 make max fall exactly on buffer ends, odd pieces make it fall anywhere.
    const flat = Buffer.alloc(200_000, 7);
    const expected = referenceBoundaries(chunker, flat);
    for (const piece of [32768, 4096, 999, flat.length]) expect(await boundaries(chunker, flat, piece)).to.deep.equal(expected);
    // Mixed: random, then flat, then random, fed one byte at a time for the first part.
    const mixed = Buffer.concat([data.subarray(0, 50_000), flat.subarray(0, 70_000), data.subarray(50_000, 120_000)]);
    const want = referenceBoundaries(chunker, mixed);
    expect(await boundaries(chunker, mixed, 1)).to.deep.equal(want);
    expect(await boundaries(chunker, mixed, 32767)).to.deep.equal(want);
  });

  it('changes only the chunks near an edit in the middle', async () => {
    const edited = Buffer.from(data);
    edited.write('an edit in the middle', 300_000);
    const a = await boundaries(chunker, data, 65536);
    const b = await boundaries(chunker, edited, 65536);
    // Every cut before the edit stays; after it, the cuts agree again from the first common
    // one on, and that comes within two maximum chunks (the rolling hash forgets in 32 bytes).
    expect(b.filter((c) => c <= 300_000)).to.deep.equal(a.filter((c) => c <= 300_000));
    const resync = a.find((c) => c > 300_000 && b.includes(c))!;
    expect(resync).to.be.below(300_000 + 2 * sizes.max);
    expect(b.filter((c) => c >= resync)).to.deep.equal(a.filter((c) => c >= resync));
    expect(a.filter((c) => c > 300_000 && c < resync).length).to.be.below(3);
  });

  it('borrowing chunks from a reused read buffer gives the same chunks, byte for byte', async () => {
    const copies: Buffer[] = [];
    for await (const chunk of chunker.split((async function* () { yield data; })())) copies.push(chunk);
    // One buffer, overwritten on every read, as the backup engine reads files.
    const buffer = Buffer.alloc(4096 * 3 + 17);
    async function* reused() {
      for (let off = 0; off < data.length; off += buffer.length) {
        const n = data.copy(buffer, 0, off, Math.min(data.length, off + buffer.length));
        yield buffer.subarray(0, n);
      }
    }
    const digests: string[] = [];
    for await (const chunk of chunker.split(reused(), { borrow: true })) digests.push(createHash('sha256').update(chunk).digest('hex'));
    expect(digests).to.deep.equal(copies.map((c) => createHash('sha256').update(c).digest('hex')));
  });

  it('depends on the key: another key cuts elsewhere', async () => {
    const other = new Chunker(seeded('other key', 32), sizes);
    expect(await boundaries(other, data, 65536)).to.not.deep.equal(await boundaries(chunker, data, 65536));
  });
});

describe('gear scanner (the chunker inner loop in WebAssembly)', function () {
  this.timeout(10_000);
  const gear = new Uint32Array(256).map((_, i) => seeded(`gear ${i}`, 4).readUInt32LE(0));
  const data = seeded('scan', 50_000);
  const mask = 0xf8000000;

  /** The loop in plain JavaScript: index of the first boundary at or after minIndex, and the hash there. */
  function reference(from: number, to: number, hash: number, minIndex: number): { cut: number; hash: number } {
    let h = hash;
    for (let i = from; i < to; i++) {
      h = ((h << 1) + gear[data[i]!]!) >>> 0;
      if ((h & mask) === 0 && i >= minIndex) return { cut: i, hash: h };
    }
    return { cut: -1, hash: h };
  }

  it('finds the same boundary and hash as plain JavaScript, across window edges', () => {
    // A 4 KiB window: ranges of up to 50 KB are copied in and scanned a window at a time.
    const scanner = new GearScanner(gear, 4096);
    let cuts = 0;
    for (const [from, to, start, minIndex] of [
      [0, data.length, 0, 0],
      [100, 30_000, 12345, 100],
      [5000, 49_999, 7, 20_000],
      [4095, 4097, 0, -50],
      [0, data.length, 0, 60_000],
    ] as const) {
      let at = from;
      let hash = start;
      for (;;) {
        const want = reference(at, to, hash, minIndex);
        const cut = scanner.scan(data, at, to, hash, mask, minIndex);
        expect({ cut, hash: scanner.hash }).to.deep.equal(want);
        if (cut < 0) break;
        cuts++;
        at = cut + 1;
        hash = 0;
      }
    }
    // The ranges above do contain boundaries (1 in 32 bytes on average for this mask).
    expect(cuts).to.be.above(100);
  });
});
