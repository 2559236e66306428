import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { ShardWriter } from '../src/backup/shard-writer.js';
import { digestFromLeaves, hashLeaf, LEAF_SIZE } from '../src/storage/merkle.js';
import { releaseHashWorker } from '../src/storage/parallel-hasher.js';
import { toHex } from '../src/util/bytes.js';
import { tempDir } from './helpers/temp.js';

/** The digest of `data` computed the plain way, leaf by leaf. */
function expectedDigest(data: Buffer) {
  const leaves: Uint8Array[] = [];
  for (let off = 0; off < data.length; off += LEAF_SIZE) leaves.push(hashLeaf(data.subarray(off, off + LEAF_SIZE)));
  return digestFromLeaves(leaves, data.length);
}

describe('shard writer (sealed chunks packed into one shard file, hashed as written)', function () {
  this.timeout(20_000);
  const dir = tempDir('dbs-shard-writer-');
  after(async () => {
    await releaseHashWorker();
    rmSync(dir, { recursive: true, force: true });
  });

  it('packs chunks end to end, says where each landed, and digests the file it wrote', async () => {
    const w = new ShardWriter(dir);
    // Sizes that straddle leaf and 4 KiB boundaries, one chunk given in parts.
    const chunks = [randomBytes(100_000), randomBytes(LEAF_SIZE), randomBytes(1), randomBytes(300_001)];
    const ids = chunks.map(() => new Uint8Array(randomBytes(32)));
    const landed = [];
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i]!;
      landed.push(await w.add(ids[i]!, i === 3 ? [c.subarray(0, 7), c.subarray(7)] : c));
    }
    expect(landed.map((p) => [p.offset, p.length])).to.deep.equal([
      [0, 100_000],
      [100_000, LEAF_SIZE],
      [100_000 + LEAF_SIZE, 1],
      [100_001 + LEAF_SIZE, 300_001],
    ]);
    expect(w.chunks.map((c) => toHex(c.id))).to.deep.equal(ids.map(toHex));
    expect(w.size).to.equal(400_002 + LEAF_SIZE);
    const digest = await w.finish();
    const written = readFileSync(w.file);
    expect(written.equals(Buffer.concat(chunks))).to.equal(true);
    const expected = expectedDigest(written);
    expect([toHex(digest.hash), toHex(digest.root), digest.size]).to.deep.equal([toHex(expected.hash), toHex(expected.root), expected.size]);
    expect(digest.leafHashes.map(toHex)).to.deep.equal(expected.leafHashes.map(toHex));
  });

  it('finishes an empty shard as an empty file with the one-empty-leaf digest', async () => {
    const w = new ShardWriter(dir);
    const digest = await w.finish();
    expect(readFileSync(w.file).length).to.equal(0);
    expect(toHex(digest.hash)).to.equal(toHex(digestFromLeaves([], 0).hash));
  });

  it('discards its file, before or after it is finished, and names every shard file apart', async () => {
    const a = new ShardWriter(dir);
    const b = new ShardWriter(dir);
    expect(a.file).to.not.equal(b.file);
    await a.add(new Uint8Array(32), randomBytes(5000));
    await a.discard();
    expect(existsSync(a.file)).to.equal(false);
    await b.add(new Uint8Array(32), randomBytes(5000));
    await b.finish();
    expect(existsSync(b.file)).to.equal(true);
    await b.discard();
    expect(existsSync(b.file)).to.equal(false);
  });
});
