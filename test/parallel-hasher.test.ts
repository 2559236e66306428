import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { LEAF_SIZE, ShardHasher, shardId } from '../src/storage/merkle.js';
import { ParallelShardHasher, releaseHashWorker } from '../src/storage/parallel-hasher.js';

function syncDigest(data: Uint8Array) {
  const h = new ShardHasher();
  h.update(data);
  return h.digest();
}

describe('parallel shard hasher (worker thread)', function () {
  this.timeout(20_000);

  for (const size of [0, 1, LEAF_SIZE, 2 * LEAF_SIZE + 5, 5 * LEAF_SIZE]) {
    it(`gives the same digest as ShardHasher for ${size} bytes, and sinks every byte at its offset`, async () => {
      const data = randomBytes(size);
      const copy = Buffer.alloc(size);
      const writes: number[] = [];
      // Two-leaf slots, two in flight: several slots and reuse even for small inputs.
      const hasher = new ParallelShardHasher({
        slotBytes: 2 * LEAF_SIZE,
        slots: 2,
        sink: async (bytes, position) => {
          writes.push(bytes.length);
          bytes.copy(copy, position);
        },
      });
      for (let off = 0; off < size; off += 7777) await hasher.write(data.subarray(off, off + 7777));
      const got = await hasher.digest();
      const want = syncDigest(data);
      expect(Buffer.from(got.hash).equals(want.hash)).to.equal(true);
      expect(Buffer.from(got.root).equals(want.root)).to.equal(true);
      expect(got.leafHashes.map((h) => Buffer.from(h).toString('hex'))).to.deep.equal(want.leafHashes.map((h) => Buffer.from(h).toString('hex')));
      expect(got.size).to.equal(size);
      expect(copy.equals(data)).to.equal(true);
      // Whole slots, except perhaps the last.
      expect(writes.slice(0, -1).every((n) => n === 2 * LEAF_SIZE)).to.equal(true);
    });
  }

  it('reports a sink failure instead of a digest', async () => {
    const hasher = new ParallelShardHasher({ slotBytes: LEAF_SIZE, slots: 2, sink: async () => Promise.reject(new Error('disk full')) });
    const data = randomBytes(6 * LEAF_SIZE);
    let err: unknown = null;
    try {
      await hasher.write(data);
      await hasher.digest();
    } catch (e) {
      err = e;
    }
    expect((err as Error)?.message).to.equal('disk full');
  });

  it('refuses a write that was waiting for a slot when settle came, and sinks nothing more', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let sunk = 0;
    // One slot of one leaf: the second leaf of the write must wait for the first to be sunk.
    const hasher = new ParallelShardHasher({ slotBytes: LEAF_SIZE, slots: 1, sink: async () => {
      sunk++;
      await gate;
    } });
    const writing = hasher.write(randomBytes(3 * LEAF_SIZE)).then(() => null, (e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    const settling = hasher.settle();
    release();
    await settling;
    expect(((await writing) as Error)?.message).to.equal('the hasher has finished');
    expect(sunk).to.equal(1);
    expect(await hasher.digest().then(() => null, (e: unknown) => e)).to.be.instanceOf(Error);
  });

  it('hashes correctly again after the worker was released, also when released mid-hash', async () => {
    const data = randomBytes(3 * LEAF_SIZE + 9);
    const first = new ParallelShardHasher();
    await first.write(data);
    // A release while a job is in flight leaves the worker running for it.
    const digesting = first.digest();
    releaseHashWorker();
    expect(Buffer.from((await digesting).hash).equals(syncDigest(data).hash)).to.equal(true);
    releaseHashWorker();
    const second = new ParallelShardHasher();
    await second.write(data);
    expect(Buffer.from((await second.digest()).root).equals(syncDigest(data).root)).to.equal(true);
  });

  it('binds the size into the shard ID', () => {
    const { root, size, hash } = syncDigest(randomBytes(LEAF_SIZE));
    expect(Buffer.from(shardId(root, size)).equals(hash)).to.equal(true);
    expect(Buffer.from(shardId(root, size + 1)).equals(hash)).to.equal(false);
    // The ID is not the root itself (a root must never pass for an ID, nor the reverse).
    expect(Buffer.from(root).equals(hash)).to.equal(false);
  });
});
