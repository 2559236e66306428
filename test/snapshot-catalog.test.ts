import { expect } from 'chai';
import { Packr } from 'msgpackr';
import { appendRecords, type CatalogHead, compactCatalog, decodeSegment, encodeSegment, replayCatalog, shouldCompact } from '../src/snapshot/catalog-delta.js';
import { type BlobLocation, type CatalogRecord, decodeRecord, encodeRecord, type ResolvedLocation } from '../src/snapshot/catalog-records.js';
import { MemoryCatalog } from '../src/snapshot/catalog-state.js';
import { SnapshotFormatError } from '../src/snapshot/errors.js';
import { testHash } from './helpers/snapshot-fakes.js';

const id = (n: number) => new Uint8Array(32).fill(n);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** Records with every byte string as hex, so Buffers and Uint8Arrays compare equal. */
const plain = (v: unknown): unknown =>
  v instanceof Uint8Array ? hex(v) : Array.isArray(v) ? v.map(plain) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : v;

/** Shards of blobs: each backup writes into a new shard, whose hash is known once it is "placed". */
class FakeShards {
  private readonly blobs = new Map<string, Uint8Array>();
  private open: { key: string; blobs: { offset: number; bytes: Uint8Array }[]; size: number } | null = null;
  private count = 0;
  loads = 0;

  begin(): void {
    this.open = { key: `open-${this.count}`, blobs: [], size: 0 };
  }

  readonly save = async (bytes: Uint8Array): Promise<BlobLocation> => {
    const o = this.open!;
    o.blobs.push({ offset: o.size, bytes });
    o.size += bytes.length;
    return { id: testHash(bytes), shard: null, offset: o.size - bytes.length, length: bytes.length };
  };

  /** Closes the shard: its hash is now known. */
  place(): Uint8Array {
    const hash = id(100 + this.count++);
    for (const b of this.open!.blobs) this.blobs.set(`${hex(hash)}:${b.offset}`, b.bytes);
    this.open = null;
    return hash;
  }

  readonly load = async (l: ResolvedLocation): Promise<Uint8Array> => {
    this.loads++;
    const bytes = this.blobs.get(`${hex(l.shard)}:${l.offset}`);
    if (!bytes || hex(testHash(bytes)) !== hex(l.id)) throw new Error('no such blob');
    return bytes;
  };
}

const snapshot = (n: number): CatalogRecord => ({ type: 'snapshot-added', id: `snap-${n}`, createdAt: 1000 + n, source: '/home/me', root: id(n), parent: n > 0 ? `snap-${n - 1}` : null, files: n * 10, bytes: n * 1000 });
const shard = (n: number): CatalogRecord => ({ type: 'shard-added', hash: id(n), size: 1 << 20, merkleRoot: id(n + 1), replicas: 3, kind: 'data' });
const contract = (n: number, s: number): CatalogRecord => ({ type: 'contract-added', id: id(n), shard: id(s), terms: new Uint8Array([1, 2, n]), ownerSignature: id(7), hostSignature: n % 2 ? id(8) : null, address: n % 2 ? '10.0.0.1:4000' : null });

/** One backup: its records into a new shard, then the head resolved to that shard. */
async function backupOnce(shards: FakeShards, head: CatalogHead | null, records: CatalogRecord[], segmentBytes?: number): Promise<{ seq: number; location: ResolvedLocation }> {
  shards.begin();
  const next = (await appendRecords(records, head, shards.save, segmentBytes ? { segmentBytes } : {}))!;
  const hash = shards.place();
  return { seq: next.seq, location: { ...next.location, shard: hash } };
}

function stateOf(c: MemoryCatalog) {
  return { snapshots: c.snapshots().map((s) => s.type === 'snapshot-added' && s.id), shards: c.shards().map((s) => s.type === 'shard-added' && hex(s.hash)).sort(), contracts: c.contracts().map((x) => x.type === 'contract-added' && hex(x.id)).sort(), pieces: c.indexPieces().map((p) => hex(p.id)) };
}

describe('snapshot catalog segments', function () {
  this.timeout(10_000);

  it('round-trips every record type', () => {
    const records: CatalogRecord[] = [
      snapshot(3),
      { type: 'snapshot-forgotten', id: 'snap-1', at: 5 },
      shard(4),
      { type: 'shard-removed', hash: id(4), at: 6 },
      contract(5, 4),
      contract(6, 4),
      { type: 'contract-ended', id: id(5), at: 7 },
      { type: 'index-added', pieces: [{ id: id(9), shard: null, offset: 10, length: 20 }, { id: id(10), shard: id(11), offset: 0, length: 5 }], replacesAll: false },
    ];
    const segment = decodeSegment(encodeSegment(4, { id: id(1), shard: id(2), offset: 3, length: 4 }, records));
    expect(segment.seq).to.equal(4);
    expect(plain(segment.records)).to.deep.equal(plain(records));
    for (const r of records) expect(plain(decodeRecord(encodeRecord(r), 0))).to.deep.equal(plain(r));
  });

  it('grows by one segment per backup, replays oldest first, and a compaction starts a short new chain', async () => {
    const shards = new FakeShards();
    let head: { seq: number; location: ResolvedLocation } | null = null;
    for (let n = 0; n < 6; n++) {
      const records = [shard(10 + n), contract(40 + n, 10 + n), snapshot(n), { type: 'index-added', pieces: [{ id: id(60 + n), shard: null, offset: 0, length: 9 }], replacesAll: false } as CatalogRecord];
      if (n === 3) records.push({ type: 'snapshot-forgotten', id: 'snap-1', at: 2000 }, { type: 'contract-ended', id: id(40), at: 2000 }, { type: 'shard-removed', hash: id(11), at: 2000 });
      head = await backupOnce(shards, head, records);
    }
    expect(head!.seq).to.equal(5);
    const replayed = new MemoryCatalog();
    const hinted: string[] = [];
    const result = await replayCatalog(head!, shards.load, replayed, (r) => hinted.push(r.type));
    expect(result).to.deep.equal({ segments: 6, records: 27 });
    expect(hinted.slice(0, 4), 'newest segment first').to.deep.equal(['shard-added', 'contract-added', 'snapshot-added', 'index-added']);
    const live = stateOf(replayed);
    expect(live.snapshots).to.deep.equal(['snap-0', 'snap-2', 'snap-3', 'snap-4', 'snap-5']);
    expect(live.shards).to.have.length(5);
    expect(live.contracts).to.have.length(4); // 40 ended; 41 went with shard 11
    expect(live.pieces).to.have.length(6);
    // Pieces written in a segment's own shard come back resolved to that shard.
    expect(replayed.indexPieces().every((p) => p.shard !== null)).to.equal(true);

    // Compaction: the live state, plus a fresh compacted index, as a base chain numbered on.
    shards.begin();
    const compactedIndex = [{ id: id(99), shard: null, offset: 0, length: 9 }];
    const base = await compactCatalog(replayed, compactedIndex, head, shards.save, { segmentBytes: 600 });
    const compacted: { seq: number; location: ResolvedLocation } = { seq: base.seq, location: { ...base.location, shard: shards.place() } };
    expect(compacted.seq).to.be.greaterThan(head!.seq + 1); // several small segments
    const loads = shards.loads;
    const fresh = new MemoryCatalog();
    const again = await replayCatalog(compacted, shards.load, fresh);
    expect(again.segments).to.equal(compacted.seq - head!.seq);
    expect(shards.loads - loads, 'no segment before the base is read').to.equal(2 * again.segments);
    const after = stateOf(fresh);
    expect({ ...after, pieces: [] }).to.deep.equal({ ...live, pieces: [] });
    expect(after.pieces).to.deep.equal([hex(id(99))]);

    // The chain continues from the compacted head.
    const next = await backupOnce(shards, compacted, [snapshot(6)]);
    const last = new MemoryCatalog();
    await replayCatalog(next, shards.load, last);
    expect(stateOf(last).snapshots).to.deep.equal([...live.snapshots, 'snap-6']);
    expect(shouldCompact(31)).to.equal(false);
    expect(shouldCompact(32)).to.equal(true);
  });

  it('cuts segments at the size limit', async () => {
    const shards = new FakeShards();
    shards.begin();
    const records = Array.from({ length: 200 }, (_, n) => snapshot(n));
    const sizes: number[] = [];
    const head = await appendRecords(records, null, async (b) => (sizes.push(b.length), shards.save(b)), { segmentBytes: 2048 });
    expect(sizes.length).to.be.greaterThan(5);
    for (const s of sizes) expect(s).to.be.at.most(2048);
    expect(head!.seq).to.equal(sizes.length - 1);
  });

  it('fails a broken chain and a malformed segment with a typed error', async () => {
    const shards = new FakeShards();
    const first = await backupOnce(shards, null, [snapshot(0)]);
    // A segment claiming number 5 after segment 0: a stale or forged pointer.
    shards.begin();
    const forged = await shards.save(encodeSegment(5, first.location, [snapshot(1)]));
    const head = { seq: 5, location: { ...forged, shard: shards.place() } };
    let error: unknown;
    await replayCatalog(head, shards.load, new MemoryCatalog()).catch((e) => (error = e));
    expect(error).to.be.instanceOf(SnapshotFormatError);
    expect((error as Error).message).to.match(/segment 0 found where 4 was expected/);

    const packr = new Packr({ useRecords: false, variableMapSize: true });
    for (const [blob, message] of [
      [packr.pack({ v: 1, k: 'catalog', n: 0, p: null, r: [[42]] }), /unknown tag 42/],
      [packr.pack({ v: 1, k: 'catalog', n: 0, p: null, r: [[1, 'x']] }), /snapshot-added record 0 has 2 fields/],
      [packr.pack({ v: 1, k: 'catalog', n: 0, p: [id(1)], r: [] }), /previous segment has 1 fields/],
      [packr.pack({ v: 3, k: 'catalog', n: 0, p: null, r: [] }), /format 3 is not supported/],
    ] as const) {
      expect(() => decodeSegment(blob)).to.throw(SnapshotFormatError, message);
    }
  });
});
