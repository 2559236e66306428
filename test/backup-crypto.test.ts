import { expect } from 'chai';
import { createCipheriv, createHash } from 'node:crypto';
import { pack, unpack } from '../src/backup/compress.js';
import { chunkId, deriveBackupKeys, open, SEAL_OVERHEAD, seal } from '../src/backup/crypto.js';

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
