import { expect } from 'chai';
import { createCipheriv, createHash } from 'node:crypto';
import { pack, unpack } from '../src/backup/compress.js';
import { chunkId, deriveBackupKeys, open, openInto, SEAL_HEAD, SEAL_OVERHEAD, seal, sealInPlace } from '../src/backup/crypto.js';
import { type ChunkResult, CryptoWorker } from '../src/backup/crypto-worker.js';

const keys = deriveBackupKeys(new Uint8Array(32).fill(7));

function seeded(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

function logText(bytes: number): Buffer {
  const lines: string[] = [];
  for (let i = 0, n = 0; n < bytes; i++) {
    const line = `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z INFO request ${i} path=/api/v1/items/${(i * 7919) % 1000} took=${(i * 31) % 900}ms\n`;
    lines.push(line);
    n += line.length;
  }
  return Buffer.from(lines.join('').slice(0, bytes));
}

describe('sealed chunks (compress, encrypt, authenticate)', function () {
  this.timeout(10_000);

  it('compresses text before sealing and opens it back to the same bytes', () => {
    const plain = logText(256 * 1024);
    const id = chunkId(keys, plain);
    const sealed = seal(keys, id, plain);
    expect(sealed.length).to.be.below(plain.length / 4);
    expect(open(keys, id, sealed).equals(plain)).to.equal(true);
  });

  it('stores incompressible and tiny chunks as they are (one format byte more)', () => {
    for (const plain of [seeded('random', 300_000), Buffer.from('hi'), Buffer.alloc(0)]) {
      const id = chunkId(keys, plain);
      const sealed = seal(keys, id, plain);
      expect(sealed.length).to.equal(plain.length + SEAL_OVERHEAD);
      expect(open(keys, id, sealed).equals(plain)).to.equal(true);
      expect(pack(plain).format[0]).to.equal(0);
    }
  });

  it('rejects a flipped bit anywhere, a swapped ID and a chunk too short', () => {
    const plain = logText(64 * 1024);
    const id = chunkId(keys, plain);
    const sealed = seal(keys, id, plain);
    for (const at of [0, 12, 13, sealed.length >> 1, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[at]! ^= 0x10;
      expect(() => open(keys, id, bad), `byte ${at}`).to.throw(/authentication/);
    }
    const other = chunkId(keys, Buffer.from('other'));
    expect(() => open(keys, other, sealed)).to.throw(/authentication/);
    expect(() => open(keys, id, sealed.subarray(0, SEAL_OVERHEAD - 1))).to.throw(/too short/);
  });

  it('refuses a packed body with an unknown format byte or broken compression', () => {
    expect(() => unpack(Buffer.from([9, 1, 2, 3]))).to.throw(/unknown chunk format 9/);
    expect(() => unpack(Buffer.from([1, 0xff, 0xff, 0xff]))).to.throw(/does not decompress/);
    expect(() => unpack(Buffer.alloc(0))).to.throw(/empty/);
  });
});

describe('sealing and opening in place', function () {
  this.timeout(10_000);

  it('seals in place what open reads, and opens into the buffer the sealed chunk lies in', () => {
    // Sizes around the cipher's piece size (64 KiB), text and random.
    for (const plain of [seeded('a', 0), seeded('b', 65536), seeded('c', 65537 + 3 * 65536), logText(300_000), Buffer.alloc(200_000, 'x')]) {
      const id = chunkId(keys, plain);
      const buffer = Buffer.alloc(plain.length + SEAL_OVERHEAD + 5000);
      plain.copy(buffer, SEAL_HEAD);
      const n = sealInPlace(keys, id, buffer, plain.length);
      const sealed = Buffer.from(buffer.subarray(0, n));
      expect(open(keys, id, sealed).equals(plain)).to.equal(true);
      // The sealed chunk at an odd offset of the buffer it is opened into, as a direct read leaves it.
      sealed.copy(buffer, 777);
      expect(openInto(keys, id, buffer.subarray(777, 777 + n), buffer).equals(plain)).to.equal(true);
      // And from seal, into another buffer.
      expect(openInto(keys, id, seal(keys, id, plain), Buffer.alloc(n)).equals(plain)).to.equal(true);
    }
  });

  it('throws on a flipped bit, another ID, or a buffer too small', () => {
    const plain = seeded('d', 150_000);
    const id = chunkId(keys, plain);
    const sealed = seal(keys, id, plain);
    for (const at of [0, 12, 13, 70_000, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[at]! ^= 0x10;
      expect(() => openInto(keys, id, bad, Buffer.alloc(sealed.length))).to.throw('failed authentication');
    }
    expect(() => openInto(keys, chunkId(keys, seeded('other', 10)), sealed, Buffer.alloc(sealed.length))).to.throw('failed authentication');
    expect(() => openInto(keys, id, sealed, Buffer.alloc(sealed.length - 1))).to.throw('too small');
    expect(() => sealInPlace(keys, id, Buffer.alloc(plain.length + SEAL_OVERHEAD - 1), plain.length)).to.throw('too small');
  });
});

describe('chunk crypto worker (sealing and opening on a worker thread)', function () {
  this.timeout(20_000);

  it('seals many chunks through a few slots, in order, each opening back to its plaintext, there and here', async () => {
    const worker = new CryptoWorker(keys, 300_000, 2);
    try {
      // Text and random chunks of different sizes, more of them than slots; the plaintext
      // buffer is overwritten after each call, as the backup's read buffer is.
      const chunks = Array.from({ length: 12 }, (_, i) => (i % 2 ? seeded(`chunk ${i}`, 1000 + i * 20_000) : logText(5000 + i * 20_000)));
      const reused = Buffer.alloc(300_000);
      const sealing: { result: Promise<ChunkResult>; plain: Buffer }[] = [];
      const sealed: { id: Uint8Array; bytes: Buffer; plain: Buffer }[] = [];
      const collect = async () => {
        const { result, plain } = sealing.shift()!;
        const c = await result;
        expect(Buffer.from(c.id).equals(chunkId(keys, plain))).to.equal(true);
        expect(open(keys, c.id, c.bytes).equals(plain)).to.equal(true);
        sealed.push({ id: c.id, bytes: Buffer.from(c.bytes), plain });
        c.release();
      };
      for (const plain of chunks) {
        const view = reused.subarray(0, plain.copy(reused));
        sealing.push({ result: (await worker.seal(chunkId(keys, plain), view)).result, plain });
        reused.fill(0);
        // One sealed chunk waits while the other slot keeps the worker busy, as in the engine.
        if (sealing.length > 1) await collect();
      }
      while (sealing.length > 0) await collect();
      expect(sealed.some((c) => c.bytes.length < c.plain.length / 4)).to.equal(true);

      // Opening: each sealed chunk is put at an odd offset of the slot, as a direct read leaves it.
      for (const c of sealed) {
        const { result } = await worker.open(c.id, async (slot) => {
          c.bytes.copy(slot, 100);
          return slot.subarray(100, 100 + c.bytes.length);
        });
        const plain = await result;
        expect(plain.bytes.equals(c.plain)).to.equal(true);
        plain.release();
      }
    } finally {
      await worker.close();
    }
  });

  for (const [where, inlineBytes] of [['on the worker', 0], ['on this thread (small chunks)', 64 * 1024]] as const) {
  it(`fails a chunk that does not open and a plaintext larger than the slot comes back as a copy, ${where}`, async () => {
    const worker = new CryptoWorker(keys, 64 * 1024, 1, null, inlineBytes);
    try {
      const text = Buffer.alloc(1024 * 1024, 'a very repetitive line\n');
      const id = chunkId(keys, text);
      const sealedText = seal(keys, id, text);
      expect(sealedText.length).to.be.below(64 * 1024);
      const big = await (await worker.open(id, async (slot) => slot.subarray(0, sealedText.copy(slot)))).result;
      expect(big.bytes.equals(text)).to.equal(true);
      big.release();
      const flipped = Buffer.from(sealedText);
      flipped[40]! ^= 1;
      const bad = (await worker.open(id, async (slot) => slot.subarray(0, flipped.copy(slot)))).result;
      let error: unknown = null;
      await bad.catch((err: unknown) => (error = err));
      expect(String(error)).to.contain('failed authentication');
      // The failed chunk gave its slot back: the only slot is free again.
      expect(worker.hasFreeSlot()).to.equal(true);
      // Sealed under an ID that is not its content's: the tag checks out, the ID check (on
      // this thread) does not.
      const otherId = chunkId(keys, Buffer.from('something else'));
      const mislabelled = seal(keys, otherId, text);
      let mismatch: unknown = null;
      await (await worker.open(otherId, async (slot) => slot.subarray(0, mislabelled.copy(slot)))).result.catch((err: unknown) => (mismatch = err));
      expect(String(mismatch)).to.contain('does not match its ID');
      expect(worker.hasFreeSlot()).to.equal(true);
    } finally {
      await worker.close();
    }
  });
  }

  it('opens chunks whose IDs are views into one large buffer (as decoded from a snapshot), past the worker\'s collection thresholds', async () => {
    const worker = new CryptoWorker(keys, 1100 * 1024, 2);
    try {
      const chunks = [seeded('random MiB', 1024 * 1024), logText(1024 * 1024)];
      // IDs at odd places of a 1 MiB buffer: each job must carry exactly its own 32 bytes.
      const decoded = Buffer.alloc(1024 * 1024, 0xee);
      const ids = chunks.map((plain, i) => {
        const at = 1001 + i * 77_777;
        Buffer.from(chunkId(keys, plain)).copy(decoded, at);
        return decoded.subarray(at, at + 32);
      });
      const sealed = chunks.map((plain, i) => seal(keys, ids[i]!, plain));
      // ~140 MiB through the worker: several minor collections and two full ones on the way.
      for (let round = 0; round < 70; round++) {
        const i = round % 2;
        const plain = await (await worker.open(ids[i]!, async (slot) => slot.subarray(0, sealed[i]!.copy(slot)))).result;
        expect(plain.bytes.equals(chunks[i]!)).to.equal(true);
        plain.release();
      }
    } finally {
      await worker.close();
    }
  });

  it('refuses a chunk larger than its slots, and fails what is pending once closed', async () => {
    const worker = new CryptoWorker(keys, 4096, 1);
    const big = seeded('big', worker.slotBytes + 1);
    let refused: unknown = null;
    await worker.seal(chunkId(keys, big), big).catch((err: unknown) => (refused = err));
    expect(String(refused)).to.contain('larger than');
    const small = seeded('small', 1000);
    const { result } = await worker.seal(chunkId(keys, small), small);
    await worker.close();
    let failed: unknown = null;
    await result.then((c) => c.release(), (err: unknown) => (failed = err));
    // Either it was sealed before the worker stopped, or it failed: never left hanging.
    expect(failed === null || String(failed).includes('closed') || String(failed).includes('exited')).to.equal(true);
    let after: unknown = null;
    await worker.seal(chunkId(keys, small), small).catch((err: unknown) => (after = err));
    expect(String(after)).to.contain('closed');
  });
});
