import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Packr } from 'msgpackr';
import { generateSigningKeyPair } from '../src/crypto/ed25519.js';
import { propose } from '../src/contracts/contract.js';
import {
  type Catalog,
  decodeCatalog,
  decodeRootRecord,
  decodeSnapshot,
  encodeCatalog,
  encodeRootRecord,
  encodeSnapshot,
  FormatError,
  type RootRecord,
  type SnapshotObject,
} from '../src/backup/formats.js';
import { toHex } from '../src/util/bytes.js';

const id32 = () => new Uint8Array(randomBytes(32));
const packr = new Packr({ useRecords: false, variableMapSize: true });

function sampleSnapshot(): SnapshotObject {
  const a = id32();
  const b = id32();
  const shard = id32();
  return {
    id: '20260101T000000Z-abcdef',
    createdAt: 1_767_225_600_000,
    source: '/home/me/docs',
    entries: [
      { path: '', type: 'dir', mode: 0o40755, mtimeMs: 1000.5, size: 0 },
      { path: 'a.txt', type: 'file', mode: 0o100644, mtimeMs: 2000, size: 10, chunks: [a, b] },
      { path: 'empty', type: 'file', mode: 0o100600, mtimeMs: 3000, size: 0, chunks: [] },
      { path: 'link', type: 'symlink', mode: 0o120777, mtimeMs: 4000, size: 5, target: 'a.txt' },
    ],
    index: new Map([
      [toHex(a), { shard, offset: 0, length: 40 }],
      [toHex(b), { shard, offset: 40, length: 50 }],
    ]),
  };
}

function sampleCatalog(): Catalog {
  const contract = propose(generateSigningKeyPair(), {
    host: generateSigningKeyPair().publicKey,
    shardHash: id32(),
    shardSize: 1024,
    merkleRoot: id32(),
    durationSeconds: 86_400,
    auditIntervalSeconds: 3600,
    auditSamples: 8,
    ownerOffer: 0,
    nowSeconds: 1_767_225_600,
  });
  return {
    snapshots: [{ id: 's1', createdAt: 1, source: '/x', files: 3, bytes: 99, meta: { shard: id32(), offset: 0, length: 70, chunk: id32() } }],
    shards: [
      { hash: contract.terms.shardHash, size: 1024, merkleRoot: contract.terms.merkleRoot, replicas: 3, kind: 'data', contracts: [{ contract: { ...contract, hostSignature: new Uint8Array(64) }, address: '10.0.0.1:4000' }] },
      { hash: id32(), size: 70, merkleRoot: id32(), replicas: 3, kind: 'meta', contracts: [] },
    ],
  };
}

function sampleRoot(): RootRecord {
  return { shard: id32(), size: 2048, merkleRoot: id32(), catalog: { shard: null, offset: 0, length: 300, chunk: id32() }, hosts: [{ host: id32(), contract: id32() }], createdAt: 5 };
}

/** The encoded object with one field of its top-level map replaced. */
function withField(encoded: Uint8Array, key: string, value: unknown): Uint8Array {
  const raw = new Packr({ useRecords: false }).unpack(encoded) as Record<string, unknown>;
  return packr.pack({ ...raw, [key]: value });
}

describe('backup formats (snapshot object, catalog, root record)', function () {
  this.timeout(5_000);

  it('round-trips a snapshot object: entries, symlink targets, chunk lists and the chunk index', () => {
    const s = sampleSnapshot();
    const back = decodeSnapshot(encodeSnapshot(s));
    expect(back.id).to.equal(s.id);
    expect(back.createdAt).to.equal(s.createdAt);
    expect(back.source).to.equal(s.source);
    expect(back.entries.map((e) => ({ ...e, chunks: e.chunks?.map(toHex) }))).to.deep.equal(s.entries.map((e) => ({ ...e, chunks: e.chunks?.map(toHex) })));
    expect([...back.index.keys()]).to.deep.equal([...s.index.keys()]);
    for (const [k, loc] of s.index) {
      const got = back.index.get(k)!;
      expect([toHex(got.shard), got.offset, got.length]).to.deep.equal([toHex(loc.shard), loc.offset, loc.length]);
    }
  });

  it('round-trips a catalog, contracts with their IDs and signatures included', () => {
    const c = sampleCatalog();
    const back = decodeCatalog(encodeCatalog(c));
    expect(back.snapshots).to.have.length(1);
    expect(back.snapshots[0]!.id).to.equal('s1');
    expect(toHex(back.snapshots[0]!.meta.chunk)).to.equal(toHex(c.snapshots[0]!.meta.chunk));
    expect(back.shards.map((s) => [toHex(s.hash), s.size, s.replicas, s.kind, s.contracts.length])).to.deep.equal(c.shards.map((s) => [toHex(s.hash), s.size, s.replicas, s.kind, s.contracts.length]));
    const [k] = back.shards[0]!.contracts;
    const [orig] = c.shards[0]!.contracts;
    expect(toHex(k!.contract.id)).to.equal(toHex(orig!.contract.id));
    expect(toHex(k!.contract.ownerSignature)).to.equal(toHex(orig!.contract.ownerSignature));
    expect(k!.address).to.equal('10.0.0.1:4000');
  });

  it('round-trips a root record; a catalog ref without a shard means the root record\'s own shard', () => {
    const r = sampleRoot();
    const back = decodeRootRecord(encodeRootRecord(r));
    expect(back.catalog.shard).to.equal(null);
    expect([toHex(back.shard), back.size, toHex(back.merkleRoot), back.catalog.length, back.createdAt]).to.deep.equal([toHex(r.shard), r.size, toHex(r.merkleRoot), 300, 5]);
    expect(back.hosts.map((h) => toHex(h.contract))).to.deep.equal(r.hosts.map((h) => toHex(h.contract)));
  });

  it('rejects bytes that are not MessagePack, or not a map, with FormatError', () => {
    for (const decode of [decodeSnapshot, decodeCatalog, decodeRootRecord]) {
      expect(() => decode(new Uint8Array([0xc1]))).to.throw(FormatError);
      expect(() => decode(packr.pack([1, 2, 3]))).to.throw(FormatError);
      expect(() => decode(packr.pack('text'))).to.throw(FormatError);
    }
  });

  it('rejects an unknown format version by name', () => {
    expect(() => decodeSnapshot(withField(encodeSnapshot(sampleSnapshot()), 'v', 2))).to.throw(FormatError, 'unknown snapshot format 2');
    expect(() => decodeCatalog(withField(encodeCatalog(sampleCatalog()), 'v', 9))).to.throw(FormatError, 'unknown catalog format 9');
    expect(() => decodeRootRecord(withField(encodeRootRecord(sampleRoot()), 'v', 0))).to.throw(FormatError, 'unknown root record format 0');
  });

  it('rejects a snapshot with missing lists, a bad entry type, a torn chunk list or a short chunk ID', () => {
    const good = encodeSnapshot(sampleSnapshot());
    expect(() => decodeSnapshot(withField(good, 'e', undefined))).to.throw(FormatError);
    expect(() => decodeSnapshot(withField(good, 'i', 'x'))).to.throw(FormatError);
    expect(() => decodeSnapshot(withField(good, 'e', [['a', 'socket', 0, 0, 0, null, null]]))).to.throw(FormatError, 'entry type');
    expect(() => decodeSnapshot(withField(good, 'e', [['a', 'file', 0, 0, -1, null, null]]))).to.throw(FormatError, 'entry size');
    expect(() => decodeSnapshot(withField(good, 'e', [['a', 'file', 0, 0, 1, null, new Uint8Array(33)]]))).to.throw(FormatError, 'chunk list');
    expect(() => decodeSnapshot(withField(good, 'i', [[new Uint8Array(31), id32(), 0, 1]]))).to.throw(FormatError, 'chunk ID');
  });

  it('rejects a catalog with an unknown shard kind or contract terms that do not decode', () => {
    const good = encodeCatalog(sampleCatalog());
    expect(() => decodeCatalog(withField(good, 'h', [[id32(), 1, id32(), 3, 'other', []]]))).to.throw(FormatError, 'shard kind');
    expect(() => decodeCatalog(withField(good, 'h', [[id32(), 1, id32(), 3, 'data', [[new Uint8Array([1, 2]), id32(), id32(), null]]]]))).to.throw(FormatError, 'contract terms');
    expect(() => decodeCatalog(withField(good, 's', [['s', 1, '/x', 1, 1, [null, 0, 1]]]))).to.throw(FormatError, 'snapshot metadata ref');
  });

  it('rejects a root record without hosts or with a short shard hash', () => {
    const good = encodeRootRecord(sampleRoot());
    expect(() => decodeRootRecord(withField(good, 'h', null))).to.throw(FormatError);
    expect(() => decodeRootRecord(withField(good, 's', new Uint8Array(8)))).to.throw(FormatError, 'root record shard');
  });
});
