import { expect } from 'chai';
import type { ChunkLocation } from '../src/backup/formats.js';
import { isLarge, LeftDirectories, normalizePrefix, RestorePlan, slotSizes, withAncestors } from '../src/backup/restore-plan.js';
import { toHex } from '../src/util/bytes.js';
import { windowBound } from '../src/util/direct-io.js';

const shard = (n: number) => new Uint8Array(32).fill(100 + n);
const at = (s: number, length: number): ChunkLocation => ({ shard: shard(s), offset: 0, length });
const LIMITS = { filesAtOnce: 8, smallSlots: 16, smallSlotsBytes: 12 * 1024 * 1024 };

/** Files a (2 chunks in shard 0), b (shard 1, then 0), a large one (shard 2), and one whose chunk is nowhere. */
function samplePlan(): RestorePlan {
  const plan = new RestorePlan(1024 * 1024);
  plan.addFile(3500, [at(0, 3000), at(0, 500)]);
  plan.addFile(9000, [at(1, 9000), at(0, 3000)]);
  plan.addFile(2_000_100, [at(2, 2_000_000), at(2, 100)]);
  plan.addFile(10, [undefined]);
  return plan;
}

describe('restore plan (pure: totals, slot sizes, shard order, directory order)', () => {
  it('trims the path to restore', () => {
    expect(normalizePrefix('/docs/')).to.equal('docs');
    expect(normalizePrefix(undefined)).to.equal('');
  });

  it('counts file bytes, and calls files of at least 1 MiB large', () => {
    expect(samplePlan().totalBytes).to.equal(3500 + 9000 + 2_000_100 + 10);
    expect(isLarge({ size: 1024 * 1024 })).to.equal(true);
    expect(isLarge({ size: 1024 * 1024 - 1 })).to.equal(false);
  });

  it('sizes main slots for the largest sealed chunk or plaintext chunk, small slots for small files only', () => {
    const plan = samplePlan();
    expect(slotSizes(plan, 256 * 1024, LIMITS).slotBytes).to.equal(windowBound(2_000_000));
    // Small files: their largest chunk is 9000 sealed bytes, the largest file 9000.
    expect(slotSizes(plan, 256 * 1024, LIMITS).small).to.deep.equal({ slotBytes: windowBound(9000), slots: 16 });
    expect(slotSizes(plan, 4 * 1024 * 1024, LIMITS).slotBytes).to.equal(4 * 1024 * 1024);
    const onlyLarge = new RestorePlan(1024 * 1024);
    onlyLarge.addFile(2_000_000, [at(2, 2_000_000)]);
    expect(slotSizes(onlyLarge, 0, LIMITS).small).to.equal(null);
    // Big small slots: as many as fit the byte budget, but never fewer than the files written at once.
    const few = new RestorePlan(1024 * 1024);
    few.addFile(1_000_000, []);
    expect(slotSizes(few, 0, { ...LIMITS, smallSlotsBytes: 3_000_000 }).small).to.deep.equal({ slotBytes: 1_000_000, slots: 8 });
  });

  it('lists the shards the files need once each, in the order they are first needed', () => {
    expect(samplePlan().shards.map(toHex)).to.deep.equal([shard(0), shard(1), shard(2)].map(toHex));
  });

  it('syncs every directory up to the top, and hands directories back deepest first once the walk has left them', () => {
    expect([...withAncestors(['/r/a/b', '/r/c'], '/')].sort()).to.deep.equal(['/', '/r', '/r/a', '/r/a/b', '/r/c']);
    const walk = ['docs', 'docs/a', 'docs/deep', 'docs/deep/b', 'docsx', 'e', 'e/f'];
    const dirs = new Set(['docs', 'docs/deep', 'e']);
    const left = new LeftDirectories<{ path: string }>();
    const order: string[] = [];
    for (const p of walk) order.push(...left.next({ path: p }, dirs.has(p) ? { path: p } : null).map((d) => d.path));
    order.push(...left.end().map((d) => d.path));
    expect(order).to.deep.equal(['docs/deep', 'docs', 'e']);
  });
});
