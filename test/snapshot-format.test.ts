import { expect } from 'chai';
import { Packr } from 'msgpackr';
import { encodeSnapshot } from '../src/backup/formats.js';
import { SnapshotFormatError, type SnapshotFormatErrorCode } from '../src/snapshot/errors.js';
import { decodeChunkList, decodeTree, encodeChunkList, encodeTree, type TreeNode } from '../src/snapshot/tree-format.js';
import { testHash } from './helpers/snapshot-fakes.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const id = (n: number) => new Uint8Array(32).fill(n);
const base = { mode: 0o100644, mtimeMs: 1_700_000_000_123.456, ctimeMs: 1_700_000_000_200.5, inode: 2 ** 40 + 7, dev: 64_769, size: 12 };

function listing(): TreeNode[] {
  return [
    { ...base, name: 'a.txt', type: 'file', chunks: [id(1), id(2)] },
    { ...base, name: 'big', type: 'file', size: 1e12, chunkLists: [id(3)] },
    { ...base, name: 'dir', type: 'dir', mode: 0o40755, size: 0, subtree: id(4) },
    { ...base, name: 'empty', type: 'file', size: 0, chunks: [] },
    { ...base, name: 'link', type: 'symlink', mode: 0o120777, target: '../nowhere' },
    { ...base, name: 'ünï', type: 'file', chunks: [id(5)] },
  ];
}

function fails(code: SnapshotFormatErrorCode, fn: () => unknown, message?: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error, 'should throw').to.be.instanceOf(SnapshotFormatError);
  expect((error as SnapshotFormatError).code).to.equal(code);
  if (message) expect((error as Error).message).to.match(message);
}

describe('snapshot tree format', function () {
  this.timeout(10_000);

  it('round-trips every node type exactly', () => {
    const nodes = listing();
    const decoded = decodeTree(encodeTree(nodes));
    expect(decoded.map((n) => ({ ...n, chunks: n.chunks?.map((c) => Buffer.from(c).toString('hex')) }))).to.deep.equal(
      nodes.map((n) => ({ ...n, chunks: n.chunks?.map((c) => Buffer.from(c).toString('hex')) })),
    );
  });

  it('gives equal listings equal bytes and IDs, and any change another ID', () => {
    const a = encodeTree(listing());
    const b = encodeTree(listing());
    expect(Buffer.from(testHash(a))).to.deep.equal(Buffer.from(testHash(b)));
    const changed = listing();
    changed[0] = { ...changed[0]!, mode: 0o100600 };
    expect(Buffer.from(testHash(encodeTree(changed)))).not.to.deep.equal(Buffer.from(testHash(a)));
  });

  it('refuses to encode an unsorted, repeated, badly named or ill-formed listing', () => {
    const nodes = listing();
    fails('MALFORMED', () => encodeTree([nodes[1]!, nodes[0]!]), /out of order/);
    fails('MALFORMED', () => encodeTree([nodes[0]!, nodes[0]!]), /repeated/);
    for (const name of ['', '.', '..', 'a/b', 'nul\0']) fails('MALFORMED', () => encodeTree([{ ...nodes[0]!, name }]), /bad entry name/);
    fails('MALFORMED', () => encodeTree([{ ...base, name: 'f', type: 'file' }]), /wrong fields/);
    fails('MALFORMED', () => encodeTree([{ ...base, name: 'f', type: 'file', chunks: [], chunkLists: [] }]), /wrong fields/);
    fails('MALFORMED', () => encodeTree([{ ...base, name: 'd', type: 'dir' }]), /wrong fields/);
    fails('MALFORMED', () => encodeTree([{ ...base, name: 's', type: 'symlink', target: 'x', subtree: id(1) }]), /wrong fields/);
    fails('MALFORMED', () => encodeTree([{ ...base, name: 'f', type: 'file', chunks: [new Uint8Array(31)] }]), /32 bytes/);
  });

  it('says clearly what is wrong with a blob that is not a tree of this format', () => {
    fails('LEGACY_SNAPSHOT', () => decodeTree(encodeSnapshot({ id: 's', createdAt: 1, source: '/x', entries: [], index: new Map() })), /first format/);
    fails('UNSUPPORTED_VERSION', () => decodeTree(packr.pack({ v: 2, k: 'tree', n: [] })), /format 2 is not supported.*newer dbs/);
    fails('WRONG_KIND', () => decodeTree(encodeChunkList([id(1)])), /expected a tree blob, found a chunks blob/);
    fails('MALFORMED', () => decodeTree(encodeTree(listing()).subarray(0, 40)), /not MessagePack/);
    fails('MALFORMED', () => decodeTree(packr.pack([1, 2, 3])), /not a map/);
    fails('MALFORMED', () => decodeTree(packr.pack({ v: 1, n: [] })), /no kind tag/);
    fails('MALFORMED', () => decodeTree(packr.pack({ v: 1, k: 'tree', n: 'x' })), /not a list/);
  });

  it('rejects every malformed node field on decode', () => {
    const good: unknown[] = ['f', 0, 0o644, 1, 2, 3, 4, 5, null, Buffer.alloc(32), null, null];
    const tree = (...nodes: unknown[]) => packr.pack({ v: 1, k: 'tree', n: nodes });
    expect(decodeTree(tree(good))).to.have.length(1);
    const bad: [number, unknown, RegExp][] = [
      [0, 7, /name of node 0 is not text/],
      [1, 9, /unknown type/],
      [2, -1, /mode of node 0/],
      [3, 'x', /mtime of node 0/],
      [4, Number.NaN, /ctime of node 0/],
      [5, 1.5, /inode of node 0/],
      [7, -3, /size of node 0/],
      [9, Buffer.alloc(33), /whole number of IDs/],
      [11, Buffer.alloc(32), /wrong fields/],
      [10, [Buffer.alloc(8)], /chunk list 0 of node 0 is 8 bytes/],
    ];
    for (const [field, value, message] of bad) {
      const node = [...good];
      node[field] = value;
      fails('MALFORMED', () => decodeTree(tree(node)), message);
    }
    fails('MALFORMED', () => decodeTree(tree(good.slice(0, 11))), /11 fields/);
    fails('MALFORMED', () => decodeTree(tree(['g', ...good.slice(1)], good)), /out of order/);
    fails('MALFORMED', () => decodeTree(tree(['x'.repeat(2000), ...good.slice(1)])), /longer than/);
  });

  it('round-trips chunk lists and rejects a torn one', () => {
    const ids = [id(1), id(2), id(3)];
    expect(decodeChunkList(encodeChunkList(ids)).map((x) => x[0])).to.deep.equal([1, 2, 3]);
    fails('MALFORMED', () => decodeChunkList(packr.pack({ v: 1, k: 'chunks', c: Buffer.alloc(40) })), /whole number/);
    fails('WRONG_KIND', () => decodeChunkList(encodeTree([])));
  });
});
