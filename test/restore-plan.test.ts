import { expect } from 'chai';
import type { ChunkLocation, TreeEntry } from '../src/backup/formats.js';
import { dirsDeepestFirst, isLarge, selectEntries, shardsInOrder, slotSizes, totalBytes, withAncestors } from '../src/backup/restore-plan.js';
import { toHex } from '../src/util/bytes.js';
import { windowBound } from '../src/util/direct-io.js';

const id = (n: number) => new Uint8Array(32).fill(n);
const shard = (n: number) => new Uint8Array(32).fill(100 + n);

/** Chunks 1-6: 1, 2 in shard A; 3 in shard B; 4, 5 in shard C; 6 nowhere. */
const index = new Map<string, ChunkLocation>([
  [toHex(id(1)), { shard: shard(0), offset: 0, length: 3000 }],
  [toHex(id(2)), { shard: shard(0), offset: 3000, length: 500 }],
  [toHex(id(3)), { shard: shard(1), offset: 0, length: 9000 }],
  [toHex(id(4)), { shard: shard(2), offset: 0, length: 2_000_000 }],
  [toHex(id(5)), { shard: shard(2), offset: 2_000_000, length: 100 }],
]);

const file = (p: string, size: number, chunks: number[]): TreeEntry => ({ path: p, type: 'file', mode: 0o100644, mtimeMs: 0, size, chunks: chunks.map(id) });
const dir = (p: string): TreeEntry => ({ path: p, type: 'dir', mode: 0o40755, mtimeMs: 0, size: 0 });
const entries: TreeEntry[] = [
  dir(''),
  dir('docs'),
  file('docs/a', 3500, [1, 2]),
  dir('docs/deep'),
  file('docs/deep/b', 9000, [3, 1]),
  file('docsx', 2_000_100, [4, 5]),
  { path: 'link', type: 'symlink', mode: 0o120777, mtimeMs: 0, size: 6, target: 'docs/a' },
  file('lost', 10, [6]),
];
const LIMITS = { largeFile: 1024 * 1024, filesAtOnce: 8, smallSlots: 16, smallSlotsBytes: 12 * 1024 * 1024 };

describe('restore plan (pure: selection, slot sizes, shard order)', () => {
  it('selects everything, or a path and what is below it, never a sibling that shares its prefix', () => {
    expect(selectEntries({ entries }, undefined).selected).to.have.length(entries.length);
    const { prefix, selected } = selectEntries({ entries }, '/docs/');
    expect(prefix).to.equal('docs');
    expect(selected.map((e) => e.path)).to.deep.equal(['docs', 'docs/a', 'docs/deep', 'docs/deep/b']);
    expect(selectEntries({ entries }, 'docs/a').selected.map((e) => e.path)).to.deep.equal(['docs/a']);
    expect(selectEntries({ entries }, 'nothing').selected).to.deep.equal([]);
  });

  it('counts file bytes only, and calls files of at least 1 MiB large', () => {
    expect(totalBytes(entries)).to.equal(3500 + 9000 + 2_000_100 + 10);
    expect(isLarge({ size: 1024 * 1024 })).to.equal(true);
    expect(isLarge({ size: 1024 * 1024 - 1 })).to.equal(false);
  });

  it('sizes main slots for the largest sealed chunk or plaintext chunk, small slots for small files only', () => {
    const all = slotSizes({ index }, entries, 256 * 1024, LIMITS);
    expect(all.slotBytes).to.equal(windowBound(2_000_000));
    // Small files: a, b, lost; their largest chunk is 9000 sealed bytes, the largest file 9000.
    expect(all.small).to.deep.equal({ slotBytes: windowBound(9000), slots: 16 });
    // The largest plaintext chunk wins when it is larger than any sealed one.
    expect(slotSizes({ index }, entries, 4 * 1024 * 1024, LIMITS).slotBytes).to.equal(4 * 1024 * 1024);
    // Only a large file: no small pool.
    expect(slotSizes({ index }, [entries[5]!], 0, LIMITS).small).to.equal(null);
    // Big small slots: as many as fit the byte budget, but never fewer than the files written at once.
    const few = slotSizes({ index }, [file('x', 1_000_000, [])], 0, { ...LIMITS, smallSlotsBytes: 3_000_000 });
    expect(few.small).to.deep.equal({ slotBytes: 1_000_000, slots: 8 });
  });

  it('lists the shards the selected files need once each, in the order they are first needed', () => {
    expect(shardsInOrder({ index }, entries).map(toHex)).to.deep.equal([shard(0), shard(1), shard(2)].map(toHex));
    expect(shardsInOrder({ index }, [entries[4]!]).map(toHex)).to.deep.equal([shard(1), shard(0)].map(toHex));
    expect(shardsInOrder({ index }, [entries[7]!])).to.deep.equal([]);
  });

  it('syncs every directory up to the top, and sets directory times deepest first', () => {
    expect([...withAncestors(['/r/a/b', '/r/c'], '/')].sort()).to.deep.equal(['/', '/r', '/r/a', '/r/a/b', '/r/c']);
    expect(dirsDeepestFirst(entries).map((e) => e.path)).to.deep.equal(['docs/deep', 'docs', '']);
  });
});
