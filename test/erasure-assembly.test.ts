/**
 * src/erasure/assembly.ts on files (no network): a shard assembled from pieces written at i × P
 * in one file decodes in place from every K of N, for sizes that do not divide evenly and the 0-
 * and 1-byte shards, and the digest it returns is the shard's.
 */
import { expect } from 'chai';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeShard } from '../src/erasure/codec.js';
import { STRIPE_FRAGMENT_BYTES } from '../src/erasure/constants.js';
import { decodeInPlace, pieceOffset } from '../src/erasure/assembly.js';
import { layoutFor } from '../src/erasure/layout.js';
import { ShardHasher } from '../src/storage/merkle.js';
import { pseudoRandom, subsets } from './helpers/erasure.js';
import { tempDir } from './helpers/temp.js';

function digestOf(bytes: Uint8Array) {
  const h = new ShardHasher();
  h.update(bytes);
  return h.digest();
}

describe('erasure assembly: pieces at i × P in one file', function () {
  this.timeout(60_000);
  const dir = tempDir('dbs-assembly-');
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** An assembly file holding only the pieces `present` (the rest left as garbage). */
  function assemble(pieces: Buffer[], pieceSize: number, present: number[], name: string): string {
    const file = path.join(dir, name);
    const bytes = Buffer.alloc(pieces.length * pieceSize, 0xa5);
    for (const i of present) pieces[i]!.copy(bytes, pieceOffset({ pieceSize }, i));
    writeFileSync(file, bytes);
    return file;
  }

  const cases: [number, number, number][] = [
    [2, 4, 2 * STRIPE_FRAGMENT_BYTES + 12_345],
    [3, 6, 700_001],
    [1, 3, 100_003],
    [4, 4, 65_536 * 3 + 5],
    [2, 4, 0],
    [2, 4, 1],
  ];
  for (const [k, n, size] of cases) {
    it(`${k}/${n}, ${size} bytes: every K of N decodes in place to the shard, with its digest`, async () => {
      const shard = pseudoRandom(size, k * 100 + n);
      const pieces = await encodeShard(shard, { k, n });
      const { pieceSize } = layoutFor({ k, n }, size);
      for (const set of subsets(n, k)) {
        const file = assemble(pieces, pieceSize, set, `s-${k}-${n}-${size}-${set.join('')}`);
        const digest = await decodeInPlace(file, { k, n }, size, set);
        expect(readFileSync(file).equals(shard), `from ${set.join(',')}`).to.equal(true);
        expect(Buffer.from(digest.hash).equals(digestOf(shard).hash)).to.equal(true);
        rmSync(file);
      }
    });
  }
});
