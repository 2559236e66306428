import { expect } from 'chai';
import { Packr } from 'msgpackr';
import { SnapshotFormatError } from '../src/snapshot/errors.js';
import { decodeIndexPiece, type IndexEntry, IndexDeltaWriter, rebuildIndex, writeIndexDelta } from '../src/snapshot/index-delta.js';

const id = (n: number, salt = 0) => {
  const b = new Uint8Array(32);
  new DataView(b.buffer).setUint32(0, n);
  b[31] = salt;
  return b;
};
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function* entries(count: number, perShard: number, salt = 0): Generator<IndexEntry> {
  for (let i = 0; i < count; i++) yield { chunk: id(i), shard: id(Math.floor(i / perShard), 200 + salt), offset: i * 5000 + 2 ** 31, length: 4 * 1024 * 1024 + i };
}

/** A stand-in for the SQLite index: upserts, one call per piece. */
class MapSink {
  readonly map = new Map<string, IndexEntry>();
  calls = 0;
  largestCall = 0;
  apply(batch: IndexEntry[]): void {
    this.calls++;
    this.largestCall = Math.max(this.largestCall, batch.length);
    for (const e of batch) this.map.set(hex(e.chunk), e);
  }
}

describe('snapshot index deltas', function () {
  this.timeout(20_000);

  it('splits a delta into pieces no larger than the limit and reads every entry back in order', async () => {
    const pieces: Uint8Array[] = [];
    const refs = await writeIndexDelta(entries(10_000, 300), async (p) => pieces.push(p) - 1, { pieceBytes: 64 * 1024 });
    expect(refs).to.deep.equal(pieces.map((_, i) => i));
    expect(pieces.length).to.be.greaterThan(5);
    for (const p of pieces) expect(p.length).to.be.at.most(64 * 1024);
    // The bound is not wasteful: pieces are at least half full.
    for (const p of pieces.slice(0, -1)) expect(p.length).to.be.at.least(32 * 1024);
    const back = pieces.flatMap((p) => decodeIndexPiece(p));
    expect(back).to.have.length(10_000);
    const want = [...entries(10_000, 300)];
    back.forEach((e, i) => {
      expect(hex(e.chunk)).to.equal(hex(want[i]!.chunk));
      expect(hex(e.shard)).to.equal(hex(want[i]!.shard));
      expect([e.offset, e.length]).to.deep.equal([want[i]!.offset, want[i]!.length]);
    });
  });

  it('stays under the limit at the default size too (4 MiB), one shard per entry at worst', async () => {
    const pieces: Uint8Array[] = [];
    const writer = new IndexDeltaWriter(async (p) => pieces.push(p));
    for (const e of entries(200_000, 1)) await writer.add(e);
    await writer.finish();
    expect(pieces.length).to.be.greaterThan(1);
    for (const p of pieces) expect(p.length).to.be.at.most(4 * 1024 * 1024);
    expect(writer.entries).to.equal(200_000);
  });

  it('rebuilds into a sink one piece at a time, later deltas winning', async () => {
    const store: Uint8Array[] = [];
    const save = async (p: Uint8Array) => ({ n: store.push(p) - 1, shard: id(77) });
    const first = await writeIndexDelta(entries(3000, 100), save, { pieceBytes: 16 * 1024 });
    // A later backup re-stored chunks 0..499 in other shards (their old shard was dropped).
    const second = await writeIndexDelta(entries(500, 100, 1), save, { pieceBytes: 16 * 1024 });
    const sink = new MapSink();
    let loaded = 0;
    const result = await rebuildIndex([...first, ...second], async (ref) => (loaded++, store[ref.n]!), sink);
    expect(result).to.deep.equal({ pieces: first.length + second.length, entries: 3500 });
    expect(sink.calls).to.equal(loaded);
    expect(sink.largestCall).to.be.below(400);
    expect(sink.map.size).to.equal(3000);
    expect(sink.map.get(hex(id(0)))!.shard[31]).to.equal(201);
    expect(sink.map.get(hex(id(2999)))!.shard[31]).to.equal(200);
  });

  it("resolves entries of the piece's own shard (written before that shard's hash was known)", async () => {
    const pieces: Uint8Array[] = [];
    const own = [
      { chunk: id(1), shard: id(5), offset: 0, length: 10 },
      { chunk: id(2), shard: null, offset: 10, length: 10 },
      { chunk: id(3), shard: null, offset: 20, length: 10 },
    ];
    await writeIndexDelta(own, async (p) => pieces.push(p));
    const back = decodeIndexPiece(pieces[0]!, id(9));
    expect(back.map((e) => e.shard[3])).to.deep.equal([5, 9, 9]);
    expect(() => decodeIndexPiece(pieces[0]!)).to.throw(SnapshotFormatError, /its own shard/);
    const sink = new MapSink();
    await rebuildIndex([{ shard: id(9) }], async () => pieces[0]!, sink);
    expect(sink.map.get(hex(id(3)))!.shard[3]).to.equal(9);
  });

  it('rejects torn, foreign and future pieces with a typed error', () => {
    const packr = new Packr({ useRecords: false, variableMapSize: true });
    const cases: [Uint8Array, string, RegExp][] = [
      [packr.pack({ v: 9, k: 'index', g: [] }), 'UNSUPPORTED_VERSION', /format 9/],
      [packr.pack({ v: 1, k: 'tree', n: [] }), 'WRONG_KIND', /found a tree blob/],
      [packr.pack({ v: 1, k: 'index', g: [[id(1), Buffer.alloc(64), [1, 2], [3]]] }), 'MALFORMED', /mismatched/],
      [packr.pack({ v: 1, k: 'index', g: [[id(1), Buffer.alloc(32), [-1], [3]]] }), 'MALFORMED', /offset 0/],
      [packr.pack({ v: 1, k: 'index', g: [[Buffer.alloc(5), Buffer.alloc(32), [1], [3]]] }), 'MALFORMED', /shard of index group 0/],
    ];
    for (const [blob, code, message] of cases) {
      let error: unknown;
      try {
        decodeIndexPiece(blob);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(SnapshotFormatError);
      expect((error as SnapshotFormatError).code).to.equal(code);
      expect((error as Error).message).to.match(message);
    }
  });
});
