/** uniqueBytes (src/retention/unique-blobs.ts): each snapshot's blobs no other snapshot needs, on hand-built trees. */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { ChunkIdSet } from '../src/retention/chunk-set.js';
import { uniqueBytes } from '../src/retention/unique-blobs.js';
import { encodeChunkList, type TreeNode } from '../src/snapshot/tree-format.js';
import { toHex } from '../src/util/bytes.js';

const id = (name: string) => new Uint8Array(createHash('sha256').update(name).digest());
const base = { mode: 0o644, mtimeMs: 0, ctimeMs: 0, inode: 0, dev: 0 };
const file = (name: string, over: Partial<TreeNode>): TreeNode => ({ ...base, name, type: 'file', size: 1, ...over });
const dir = (name: string, subtree: string): TreeNode => ({ ...base, name, type: 'dir', size: 0, subtree: id(subtree) });

// Sub1: x = [a]. Sub2: y = chunk list L = [d, e].
// Root0: s1 → Sub1, z = [b].  Root1: s1 → Sub1, s2 → Sub2, z = [c].  Root3: s2 → Sub2, w = [b].
const trees = new Map<string, TreeNode[]>([
  ['Sub1', [file('x', { chunks: [id('a')] })]],
  ['Sub2', [file('y', { chunkLists: [id('L')] })]],
  ['Root0', [dir('s1', 'Sub1'), file('z', { chunks: [id('b')] })]],
  ['Root1', [dir('s1', 'Sub1'), dir('s2', 'Sub2'), file('z', { chunks: [id('c')] })]],
  ['Root3', [dir('s2', 'Sub2'), file('w', { chunks: [id('b')] })]],
]);
const byId = new Map([...trees].map(([name, nodes]) => [toHex(id(name)), nodes]));
// Stored lengths: trees 50, the chunk list 10, chunks 100; f is indexed but no snapshot needs it.
const lengths: Record<string, number> = { Sub1: 50, Sub2: 50, Root0: 50, Root1: 50, Root3: 50, L: 10, a: 100, b: 100, c: 100, d: 100, e: 100, f: 100 };

function ports() {
  const reads = new Map<string, number>();
  return {
    reads,
    loadTree: async (tree: Uint8Array) => {
      reads.set(toHex(tree), (reads.get(toHex(tree)) ?? 0) + 1);
      return byId.get(toHex(tree))!;
    },
    loadBlob: async (blob: Uint8Array) => {
      expect(toHex(blob)).to.equal(toHex(id('L')));
      return encodeChunkList([id('d'), id('e')]);
    },
    entries: async function* () {
      for (const [name, length] of Object.entries(lengths)) yield { chunk: id(name), length };
    },
  };
}

describe('uniqueBytes (what forgetting one snapshot alone would free)', () => {
  it('counts each snapshot its own trees and chunks; shared subtrees, chunk lists and chunks count for nobody', async () => {
    const p = ports();
    // Root3 comes after Root1 and shares Sub2 with it: Sub2, L, d and e become shared then.
    expect(await uniqueBytes([id('Root0'), id('Root1'), id('Root3')], p)).to.deep.equal([50, 50 + 100, 50]);
    // No tree is read more than twice (once as one snapshot's, once to mark it shared).
    expect(Math.max(...p.reads.values())).to.be.at.most(2);
  });

  it('the same root twice frees nothing alone; order does not change the answer', async () => {
    expect(await uniqueBytes([id('Root0'), id('Root1'), id('Root3'), id('Root1')], ports())).to.deep.equal([50, 0, 50, 0]);
    expect(await uniqueBytes([id('Root3'), id('Root1'), id('Root0')], ports())).to.deep.equal([50, 150, 50]);
    // Alone, a snapshot frees everything it needs.
    expect(await uniqueBytes([id('Root1')], ports())).to.deep.equal([50 + 50 + 50 + 10 + 100 + 100 + 100 + 100]);
    expect(await uniqueBytes([], ports())).to.deep.equal([]);
  });

  it("ChunkIdSet keeps each ID's value through growing, and refuses values when made without them", () => {
    const set = new ChunkIdSet(32, 0, true);
    for (let i = 0; i < 5000; i++) set.setValue(id(`k${i}`), i - 2500);
    expect(set.size).to.equal(5000);
    for (let i = 0; i < 5000; i += 7) expect(set.value(id(`k${i}`))).to.equal(i - 2500);
    expect(set.value(id('absent'))).to.equal(undefined);
    expect(() => new ChunkIdSet().value(id('k1'))).to.throw(/without values/);
  });
});
