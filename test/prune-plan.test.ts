import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { ChunkIdSet } from '../src/retention/chunk-set.js';
import { type IndexedShard, planPrune, PruneError } from '../src/retention/prune-plan.js';

const MiB = 2 ** 20;
const id = (name: string) => createHash('sha256').update(name).digest();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A shard named `name` with `n` chunks of 1 MiB named name0..; its size adds 100 bytes of framing. */
function shard(name: string, chunkNames: string[]): IndexedShard {
  return { hash: id(`shard ${name}`), size: chunkNames.length * MiB + 100, chunks: chunkNames.map((c) => ({ id: id(c), length: MiB })) };
}
const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('prune: the needed-chunk set', function () {
  this.timeout(10_000);

  it('adds, finds, grows past its first table and keeps seen marks across growth', () => {
    const set = new ChunkIdSet();
    const ids = Array.from({ length: 5000 }, () => randomBytes(32));
    expect(set.add(ids[0]!)).to.equal(true);
    expect(set.markSeen(ids[0]!)).to.equal('first');
    for (const x of ids) set.add(x);
    expect(set.add(ids[1]!), 'a second add of the same ID').to.equal(false);
    expect(set.size).to.equal(5000);
    expect(ids.every((x) => set.has(x))).to.equal(true);
    expect(set.has(randomBytes(32))).to.equal(false);
    expect(set.markSeen(ids[0]!), 'the mark survived the growth').to.equal('again');
    expect(set.markSeen(randomBytes(32))).to.equal('absent');
    expect(set.unseen()).to.equal(4999);
    expect(() => set.add(new Uint8Array(16))).to.throw(RangeError);
  });
});

describe('prune: the plan from the index', function () {
  this.timeout(10_000);
  // A all needed; B nothing needed; C 4 of 16 needed; D 15 of 16; E, F small and full;
  // G one needed chunk plus a second copy of A's a0 (a duplicate: unused).
  const index = { async *shards() {
    yield shard('A', names('a', 16));
    yield shard('B', names('b', 16));
    yield shard('C', names('c', 16));
    yield shard('D', names('d', 16));
    yield shard('E', names('e', 2));
    yield shard('F', names('f', 3));
    yield shard('G', ['a0', 'g0']);
  } };
  const neededNames = [...names('a', 16), ...names('c', 4), ...names('d', 15), ...names('e', 2), ...names('f', 3), 'g0'];
  const needed = (extra: string[] = []) => {
    const set = new ChunkIdSet();
    for (const n of [...neededNames, ...extra]) set.add(id(n));
    return set;
  };
  const summary = (plan: Awaited<ReturnType<typeof planPrune>>) => ({
    drop: plan.drop.map((s) => hex(s.hash)),
    repack: plan.repack.map((s) => [hex(s.hash), s.reason]),
  });
  const h = (name: string) => hex(id(`shard ${name}`));

  it('--max-unused 5%: drops B, repacks C (75% unused) and the small E, F, G; D stays (hand-computed)', async () => {
    const plan = await planPrune(index, needed(), { maxUnusedPercent: 5 });
    // used 41 MiB, unused 30 (B 16, C 12, D 1, G 1); allowed 41·5/95 = 2.16 MiB: after C, 2 MiB left, under it
    expect(summary(plan)).to.deep.equal({ drop: [h('B')], repack: [[h('C'), 'unused'], [h('E'), 'small'], [h('F'), 'small'], [h('G'), 'small']] });
    expect(plan.totals).to.deep.equal({
      shards: 7, bytes: 71 * MiB + 700, usedBytes: 41 * MiB, unusedBytes: 30 * MiB, dropBytes: 16 * MiB + 100,
      repackUsedBytes: (4 + 2 + 3 + 1) * MiB, repackUnusedBytes: 13 * MiB, unusedAfter: 1 * MiB, keptShards: 2,
    });
    expect(plan.missingChunks).to.equal(0);
  });

  it('--max-unused 0 repacks every shard with an unused byte; 50% only the small ones', async () => {
    const strict = await planPrune(index, needed(), { maxUnusedPercent: 0 });
    expect(summary(strict).repack).to.deep.equal([[h('C'), 'unused'], [h('G'), 'unused'], [h('D'), 'unused'], [h('E'), 'small'], [h('F'), 'small']]);
    expect(strict.totals.unusedAfter).to.equal(0);
    const loose = await planPrune(index, needed(), { maxUnusedPercent: 50 });
    expect(summary(loose).repack).to.deep.equal([[h('E'), 'small'], [h('F'), 'small'], [h('G'), 'small']]);
    expect(loose.totals.unusedAfter).to.equal(13 * MiB);
  });

  it('a single small shard is left alone: repacking it alone gains nothing', async () => {
    const one = { async *shards() { yield shard('A', names('a', 16)); yield shard('E', names('e', 2)); } };
    const set = new ChunkIdSet();
    for (const n of [...names('a', 16), ...names('e', 2)]) set.add(id(n));
    expect((await planPrune(one, set)).repack).to.deep.equal([]);
  });

  it('counts needed chunks that no shard holds, and refuses a bad --max-unused', async () => {
    expect((await planPrune(index, needed(['lost1', 'lost2']))).missingChunks).to.equal(2);
    for (const bad of [-1, 100, NaN]) await planPrune(index, needed(), { maxUnusedPercent: bad }).then(() => expect.fail(String(bad)), (e: PruneError) => expect(e.code).to.equal('BAD_PRUNE_OPTION'));
  });
});

describe('prune: the chunks kept snapshots need, from their trees', function () {
  this.timeout(10_000);

  it('collects trees, chunk lists and chunks; shared subtrees are read once; a forgotten snapshot\'s own chunks stay out', async () => {
    const { FakeFs, MemoryBlobStore, chunkingSaver, testHash } = await import('./helpers/snapshot-fakes.js');
    const { buildTree } = await import('../src/snapshot/tree-builder.js');
    const { collectNeededChunks } = await import('../src/retention/needed-chunks.js');
    const fs = new FakeFs();
    fs.mkdir('/src/same');
    fs.writeFile('/src/same/a.txt', 'unchanged content');
    fs.mkdir('/src/changing');
    fs.writeFile('/src/changing/b.txt', 'old old old!');
    fs.tick();
    const store = new MemoryBlobStore();
    const saveFile = chunkingSaver(store, (p) => fs.readFile(p));
    // inlineChunkIds 2: files of more than two 4-byte chunks get chunk-list blobs
    const opts = { inlineChunkIds: 2, chunkListIds: 2 };
    const first = await buildTree('/src', { fs, saveFile, saveBlob: store.save, loadTree: store.loadTree }, opts);
    fs.writeFile('/src/changing/b.txt', 'new new new!');
    fs.tick();
    const second = await buildTree('/src', { fs, saveFile, saveBlob: store.save, loadTree: store.loadTree }, { ...opts, parent: first.root });

    const onlySecond = new ChunkIdSet();
    const s1 = await collectNeededChunks([second.root], { loadTree: store.loadTree, loadBlob: store.load }, onlySecond);
    expect(s1.treesRead).to.equal(3);
    expect(s1.chunkListsRead, 'b.txt: 3 chunks in 2 lists, a.txt: 5 chunks in 3').to.equal(5);
    expect(onlySecond.has(testHash(Buffer.from('new ')))).to.equal(true);
    expect(onlySecond.has(testHash(Buffer.from('old ')))).to.equal(false);
    expect(onlySecond.has(testHash(Buffer.from('unch')))).to.equal(true);
    // every blob of the store is needed by one snapshot or the other, and only those
    const both = new ChunkIdSet();
    const s2 = await collectNeededChunks([second.root, first.root, second.root], { loadTree: store.loadTree, loadBlob: store.load }, both);
    expect(s2.treesRead, 'root and changing/ of the first; same/ is shared').to.equal(3 + 2);
    expect(both.size).to.equal(store.blobs.size);
    expect(onlySecond.size).to.be.lessThan(both.size);
  });
});
