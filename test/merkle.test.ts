import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { buildLevels, hashLeaf, LEAF_SIZE, leafCount, pickLeaves, proofFor, rootOf, ShardHasher, verifyLeaf } from '../src/storage/merkle.js';

function leavesOf(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < leafCount(data.length); i++) out.push(data.subarray(i * LEAF_SIZE, Math.min(data.length, (i + 1) * LEAF_SIZE)));
  return out;
}

describe('Merkle proofs (pure)', function () {
  this.timeout(10_000);

  for (const size of [0, 1, LEAF_SIZE - 1, LEAF_SIZE, LEAF_SIZE + 1, 3 * LEAF_SIZE, 5 * LEAF_SIZE + 17, 13 * LEAF_SIZE]) {
    it(`proves every leaf of a ${size}-byte shard, and nothing else`, () => {
      const data = randomBytes(size);
      const leaves = leavesOf(data);
      const levels = buildLevels(leaves.map(hashLeaf));
      const root = levels[levels.length - 1]![0]!;
      leaves.forEach((leaf, i) => {
        const path = proofFor(levels, i);
        expect(path.length).to.be.at.most(Math.ceil(Math.log2(leaves.length)));
        expect(verifyLeaf(root, size, i, leaf, path), `leaf ${i}`).to.equal(true);
        if (leaf.length > 0) {
          const flipped = Buffer.from(leaf);
          flipped[flipped.length >> 1]! ^= 1;
          expect(verifyLeaf(root, size, i, flipped, path)).to.equal(false);
        }
        expect(verifyLeaf(root, size, i, Buffer.concat([leaf, Buffer.from([0])]), path)).to.equal(false);
        if (path.length > 0) expect(verifyLeaf(root, size, i, leaf, path.slice(1))).to.equal(false);
        expect(verifyLeaf(root, size, i, leaf, [...path, root])).to.equal(false);
      });
      if (leaves.length > 1) expect(verifyLeaf(root, size, 1, leaves[0]!, proofFor(levels, 0))).to.equal(false);
      expect(verifyLeaf(root, size, leaves.length, new Uint8Array(0), [])).to.equal(false);
    });
  }

  it('streams to the same hashes whatever the chunking', () => {
    const data = randomBytes(4 * LEAF_SIZE + 1234);
    const whole = new ShardHasher();
    whole.update(data);
    const a = whole.digest();
    const bits = new ShardHasher();
    for (let off = 0; off < data.length; off += 7777) bits.update(data.subarray(off, off + 7777));
    const b = bits.digest();
    expect(Buffer.from(a.root).equals(b.root)).to.equal(true);
    expect(Buffer.from(a.hash).equals(b.hash)).to.equal(true);
    expect(Buffer.from(a.root).equals(rootOf(leavesOf(data).map(hashLeaf)))).to.equal(true);
    expect(a.leafHashes).to.have.length(5);
  });

  it('keeps a leaf from passing for an inner node (domain separation)', () => {
    const data = randomBytes(2 * LEAF_SIZE);
    const levels = buildLevels(leavesOf(data).map(hashLeaf));
    const root = levels[1]![0]!;
    // The concatenation of the two leaf hashes, offered as a single "leaf", must not verify.
    const forged = Buffer.concat([levels[0]![0]!, levels[0]![1]!]);
    expect(verifyLeaf(root, 64, 0, forged, [])).to.equal(false);
  });

  it('picks distinct random leaves, or all of them for small shards', () => {
    expect(pickLeaves(3 * LEAF_SIZE, 8, () => 0)).to.deep.equal([0, 1, 2]);
    // A random source with too few values still yields distinct leaves, and terminates.
    let n = 0;
    expect(pickLeaves(100 * LEAF_SIZE, 8, () => 10 + (n++ % 5))).to.deep.equal([0, 1, 2, 10, 11, 12, 13, 14]);
    const random = pickLeaves(100 * LEAF_SIZE, 8, (max) => Math.floor(Math.random() * max));
    expect(new Set(random).size).to.equal(8);
  });
});
