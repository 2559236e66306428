import { expect } from 'chai';
import { createCipheriv, createHash } from 'node:crypto';
import { pack, unpack } from '../src/backup/compress.js';
import { chunkId, deriveBackupKeys, open, SEAL_OVERHEAD, seal } from '../src/backup/crypto.js';
import { ChunkSealer, type SealedChunk } from '../src/backup/sealer.js';

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

describe('chunk sealer (sealing on a worker thread)', function () {
  this.timeout(20_000);

  it('seals many chunks through a few slots, in order, each opening back to its plaintext', async () => {
    const sealer = new ChunkSealer(keys, 300_000, 2);
    try {
      // Text and random chunks of different sizes, more of them than slots; the plaintext
      // buffer is overwritten after each submit, as the backup's read buffer is.
      const chunks = Array.from({ length: 12 }, (_, i) => (i % 2 ? seeded(`chunk ${i}`, 1000 + i * 20_000) : logText(5000 + i * 20_000)));
      const reused = Buffer.alloc(300_000);
      const results: { sealed: Promise<SealedChunk>; plain: Buffer }[] = [];
      const check = async () => {
        const { sealed, plain } = results.shift()!;
        const c = await sealed;
        expect(Buffer.from(c.id).equals(chunkId(keys, plain))).to.equal(true);
        expect(open(keys, c.id, c.bytes).equals(plain)).to.equal(true);
        c.release();
      };
      for (const plain of chunks) {
        const view = reused.subarray(0, plain.copy(reused));
        results.push({ sealed: (await sealer.submit(chunkId(keys, plain), view)).sealed, plain });
        reused.fill(0);
        // One sealed chunk waits while the other slot keeps the worker busy, as in the engine.
        if (results.length > 1) await check();
      }
      while (results.length > 0) await check();
    } finally {
      await sealer.close();
    }
  });

  it('refuses a chunk larger than its slots, and fails what is pending once closed', async () => {
    const sealer = new ChunkSealer(keys, 1000, 1);
    const big = seeded('big', 1001);
    let refused: unknown = null;
    await sealer.submit(chunkId(keys, big), big).catch((err: unknown) => (refused = err));
    expect(String(refused)).to.contain('larger than');
    const small = seeded('small', 1000);
    const { sealed } = await sealer.submit(chunkId(keys, small), small);
    await sealer.close();
    let failed: unknown = null;
    await sealed.then((c) => c.release(), (err: unknown) => (failed = err));
    // Either it was sealed before the worker stopped, or it failed: never left hanging.
    expect(failed === null || String(failed).includes('closed') || String(failed).includes('exited')).to.equal(true);
    let after: unknown = null;
    await sealer.submit(chunkId(keys, small), small).catch((err: unknown) => (after = err));
    expect(String(after)).to.contain('closed');
  });
});
