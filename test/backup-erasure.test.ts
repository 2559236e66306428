/**
 * Erasure-coded backups (`erasure: {k: 2, n: 4}`) through real peers on loopback: an owner and
 * 7 hosts. Each data shard becomes 4 pieces on 4 distinct hosts under piece contracts; restores
 * from hosts survive N − K lost hosts and a corrupted piece, name exactly the files gone when
 * one more host is lost, repair puts every shard back to 4 pieces on live hosts (from the local
 * copy, and from K pieces over the network), and a new machine restores from the recovery key.
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Peer, type PeerOptions } from '../src/peer/peer.js';
import { decodeTerms, type PieceTerms } from '../src/contracts/contract.js';
import { toHex } from '../src/util/bytes.js';
import { pieceSizeFor } from '../src/erasure/layout.js';
import { MiB, peerOptions, startPeers, stopAll, tempDir } from './helpers/peers.js';
import { describeTree } from './helpers/trees.js';

const FAST: Partial<PeerOptions> = {
  dht: { maxPerIpPerBucket: Infinity, rateLimit: null, lookupTimeoutMs: 1000, requestTimeoutMs: 1000, retries: 0 },
  backup: { shardSize: 1 * MiB, chunkSizes: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }, hostGraceMs: 0 },
};

interface OwnerContract {
  id: string;
  host: string;
  state: string;
  /** The shard the contract keeps whole, or the shard its piece belongs to. */
  shard: string;
  piece: PieceTerms | null;
  pieceHash: string;
}

/** The owner's contracts with their terms, read beside the running peer. */
function ownerContracts(owner: Peer): OwnerContract[] {
  const db = new Database(path.join(owner.dataDir, 'peer.db'), { readonly: true });
  try {
    const rows = db.prepare("SELECT id, counterpart, terms, state FROM contracts WHERE role = 'owner'").all() as { id: Buffer; counterpart: Buffer; terms: Buffer; state: string }[];
    return rows.map((r) => {
      const t = decodeTerms(r.terms);
      return { id: toHex(r.id), host: toHex(r.counterpart), state: r.state, shard: toHex(t.piece ? t.piece.shard : t.shardHash), piece: t.piece ?? null, pieceHash: toHex(t.shardHash) };
    });
  } finally {
    db.close();
  }
}

const live = (c: OwnerContract) => c.state === 'active' || c.state === 'pending';

/** Coded shards → their live piece contracts. */
function piecesByShard(owner: Peer): Map<string, OwnerContract[]> {
  const map = new Map<string, OwnerContract[]>();
  for (const c of ownerContracts(owner)) if (c.piece && live(c)) map.set(c.shard, [...(map.get(c.shard) ?? []), c]);
  return map;
}

/** Whole-copy shards → their live hosts. */
function wholeByShard(owner: Peer): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const c of ownerContracts(owner)) if (!c.piece && live(c)) map.set(c.shard, [...(map.get(c.shard) ?? []), c.host]);
  return map;
}

describe('erasure-coded backups, 2 of 4 (owner + 7 real hosts)', function () {
  this.timeout(300_000);
  let peers: Peer[] = [];
  let owner: Peer;
  let hosts: Peer[] = [];
  const source = tempDir('dbs-erasure-src-');
  const stash = tempDir('dbs-erasure-stash-');
  let snapshot = '';
  const byKey = (key: string) => hosts.find((h) => toHex(h.publicKey) === key)!;
  const ownShards = () => path.join(owner.dataDir, 'backup', 'shards');

  /** Moves the owner's local shard copies aside, so a restore must fetch from hosts. */
  function hideLocalCopies(): void {
    for (const f of readdirSync(ownShards())) renameSync(path.join(ownShards(), f), path.join(stash, f));
  }
  /** Puts back the local copies of all shards but `except`. */
  function returnLocalCopies(except: string[] = []): void {
    for (const f of readdirSync(stash)) if (!except.includes(f)) renameSync(path.join(stash, f), path.join(ownShards(), f));
  }

  async function restore(): Promise<{ incomplete: string[]; dest: string }> {
    const dest = path.join(tempDir('dbs-erasure-dest-'), 'r');
    const result = await owner.restore(snapshot, dest);
    return { incomplete: result.incomplete, dest };
  }

  async function stopHost(h: Peer): Promise<void> {
    await h.stop();
    hosts = hosts.filter((x) => x !== h);
  }

  before(async () => {
    peers = await startPeers(8, FAST);
    owner = peers[0]!;
    hosts = peers.slice(1);
    mkdirSync(path.join(source, 'big'), { recursive: true });
    mkdirSync(path.join(source, 'small'), { recursive: true });
    // Incompressible files of about a shard each, so a lost shard takes some files and not others.
    for (let i = 0; i < 5; i++) writeFileSync(path.join(source, 'big', `f${i}.bin`), randomBytes(700 * 1024 + i * 4099));
    for (let i = 0; i < 10; i++) writeFileSync(path.join(source, 'small', `s${i}.txt`), `small ${i}\n`.repeat(50 + i));
    writeFileSync(path.join(source, 'empty'), '');
  });

  after(async () => {
    await stopAll(peers);
    for (const d of [source, stash]) rmSync(d, { recursive: true, force: true });
  });

  it('codes each data shard into 4 pieces on 4 distinct hosts, under piece contracts', async () => {
    const result = await owner.backup(source, { erasure: { k: 2, n: 4 } });
    snapshot = result.id;
    expect(result.shortfall).to.equal(0);
    const coded = piecesByShard(owner);
    expect(coded.size).to.be.greaterThanOrEqual(2);
    for (const [shard, pieces] of coded) {
      expect(pieces.map((p) => p.piece!.index).sort(), shard).to.deep.equal([0, 1, 2, 3]);
      expect(new Set(pieces.map((p) => p.host)).size, shard).to.equal(4);
      for (const p of pieces) {
        expect(p.piece).to.include({ k: 2, n: 4 });
        // The host keeps the piece, not the shard.
        expect(existsSync(byKey(p.host).shards.shardPath(Buffer.from(p.pieceHash, 'hex')))).to.equal(true);
        expect(existsSync(byKey(p.host).shards.shardPath(Buffer.from(shard, 'hex')))).to.equal(false);
      }
    }
    // What the owner shows (dbs shards, the web page): 4 of 4 pieces, one per host.
    for (const h of owner.shardHealth().filter((x) => coded.has(x.hash))) {
      expect(h).to.deep.include({ wanted: 4, live: 4, erasure: { k: 2, n: 4 } });
      expect(h.replicas.map((r) => r.piece).sort()).to.deep.equal([0, 1, 2, 3]);
    }
    // The closing metadata shard stays whole, on N − K + 1 = 3 hosts.
    const whole = wholeByShard(owner);
    expect(whole.size).to.be.greaterThanOrEqual(1);
    for (const h of whole.values()) expect(h.length).to.equal(3);
  });

  it('detects a corrupted piece and restores from others, then survives N − K = 2 lost hosts byte for byte', async () => {
    const [shard, pieces] = [...piecesByShard(owner)][0]!;
    const first = pieces.find((p) => p.piece!.index === 0)!;
    // Data piece 0, asked for first: one byte flipped on its host.
    const file = byKey(first.host).shards.shardPath(Buffer.from(first.pieceHash, 'hex'));
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(file, bytes);
    hideLocalCopies();
    let r = await restore();
    expect(r.incomplete).to.deep.equal([]);
    expect(describeTree(r.dest)).to.deep.equal(describeTree(source));
    // Two hosts gone: the one with the corrupted piece, and the holder of piece 1 of the same
    // shard (which is left with pieces 2 and 3, both parity: decoded, not joined).
    const second = pieces.find((p) => p.piece!.index === 1)!;
    await stopHost(byKey(first.host));
    await stopHost(byKey(second.host));
    r = await restore();
    expect(r.incomplete, shard).to.deep.equal([]);
    expect(describeTree(r.dest)).to.deep.equal(describeTree(source));
  });

  it('names exactly the files that are gone when one more host is lost', async () => {
    const alive = new Set(hosts.map((h) => toHex(h.publicKey)));
    const whole = wholeByShard(owner);
    // A third host: one that holds a piece of a shard now at K pieces, and whose loss leaves
    // every whole (metadata) shard a live copy.
    const coded = [...piecesByShard(owner)];
    let victim: string | null = null;
    for (const [, pieces] of coded) {
      const livePieces = pieces.filter((p) => alive.has(p.host));
      if (livePieces.length !== 2) continue;
      for (const p of livePieces) {
        if ([...whole.values()].every((hs) => hs.some((h) => h !== p.host && alive.has(h)))) victim = p.host;
      }
      if (victim) break;
    }
    expect(victim, 'a third host to lose').to.not.equal(null);
    const third = byKey(victim!);
    await stopHost(third);
    const r = await restore();
    expect(r.incomplete.length).to.be.greaterThan(0);
    // Exactly the files named are missing or wrong; every other one is byte for byte.
    const want = new Map(describeTree(source).map((d) => [d.path, d]));
    const got = new Map(describeTree(r.dest).map((d) => [d.path, d]));
    const gone = [...want.keys()].filter((p) => want.get(p)!.type === 'file' && JSON.stringify(got.get(p)) !== JSON.stringify(want.get(p)));
    expect([...r.incomplete].sort()).to.deep.equal(gone.sort());
    for (const p of r.incomplete) expect(p.startsWith('big/'), p).to.equal(true);
  });

  it('repair brings every coded shard back to 4 pieces on live hosts (from the local copy, or from K pieces)', async () => {
    // Local copies back for all shards but one that still has K live pieces: that one is
    // rebuilt from pieces downloaded from hosts.
    const alive = new Set(hosts.map((h) => toHex(h.publicKey)));
    const fromNetwork = [...piecesByShard(owner)].find(([, ps]) => ps.filter((p) => alive.has(p.host)).length >= 2 && ps.filter((p) => alive.has(p.host)).length < 4);
    returnLocalCopies(fromNetwork ? [fromNetwork[0]] : []);
    const report = await owner.check();
    expect(report.cancelled).to.be.greaterThan(0);
    expect(report.replaced).to.be.greaterThan(0);
    // What repair moved: uploads for every new piece; downloads only for the shard rebuilt from
    // the network (K = 2 pieces of it at least), none for those rebuilt from local copies.
    expect(report.repairUploadedBytes).to.be.greaterThan(0);
    const k2 = fromNetwork ? 2 * pieceSizeFor(fromNetwork[1][0]!.piece!.shardSize, 2) : 0;
    expect(report.repairDownloadedBytes).to.be.within(k2, fromNetwork ? 2 * k2 : 0);
    const now = new Set(hosts.map((h) => toHex(h.publicKey)));
    for (const [shard, pieces] of piecesByShard(owner)) {
      expect(pieces.map((p) => p.piece!.index).sort(), shard).to.deep.equal([0, 1, 2, 3]);
      expect(new Set(pieces.map((p) => p.host)).size, shard).to.equal(4);
      for (const p of pieces) expect(now.has(p.host), `${shard} piece ${p.piece!.index} on a live host`).to.equal(true);
    }
    // And restores from hosts alone again, byte for byte.
    hideLocalCopies();
    const r = await restore();
    expect(r.incomplete).to.deep.equal([]);
    expect(describeTree(r.dest)).to.deep.equal(describeTree(source));
    returnLocalCopies();
  });

  it('prune keeps every piece contract of a kept coded snapshot (a piece contract names its piece, not its shard)', async () => {
    const before = [...piecesByShard(owner)].map(([shard, ps]) => [shard, ps.map((p) => p.id).sort()] as const);
    expect(before.length).to.be.greaterThan(0);
    // Every prune starts by cancelling contracts whose shard the index no longer knows: a piece
    // contract's shardHash is the piece's own ID, so it must be asked of the coded shard.
    // (It may still end contracts of metadata shards it rewrote: those are whole copies.)
    await owner.prune({ maxUnusedPercent: 0 });
    const after = [...piecesByShard(owner)].map(([shard, ps]) => [shard, ps.map((p) => p.id).sort()] as const);
    expect(after).to.deep.equal(before);
    hideLocalCopies();
    const r = await restore();
    expect(r.incomplete).to.deep.equal([]);
    expect(describeTree(r.dest)).to.deep.equal(describeTree(source));
    returnLocalCopies();
  });

  it('a new machine restores from the recovery key alone', async () => {
    const key = owner.recoveryKey;
    const bootstrap = hosts[0]!;
    await owner.stop();
    rmSync(owner.dataDir, { recursive: true, force: true });
    const fresh = await Peer.start(peerOptions({ ...FAST, recoveryKey: key, bootstrap: [bootstrap.address] }));
    peers.push(fresh);
    owner = fresh;
    const listed = await fresh.snapshots();
    expect(listed.map((s) => s.id)).to.deep.equal([snapshot]);
    const r = await restore();
    expect(r.incomplete).to.deep.equal([]);
    expect(describeTree(r.dest)).to.deep.equal(describeTree(source));
  });
});

describe('erasure-coded backups on a network too small for N (owner + 3 real hosts)', function () {
  this.timeout(120_000);
  let peers: Peer[] = [];
  const source = tempDir('dbs-erasure-small-src-');

  before(async () => {
    peers = await startPeers(4, FAST);
    writeFileSync(path.join(source, 'a.bin'), randomBytes(1500 * 1024));
  });

  after(async () => {
    await stopAll(peers);
    rmSync(source, { recursive: true, force: true });
  });

  it('2/4 with 3 hosts places 3 pieces per shard (the 4th is a shortfall) and restores; 1/3 is whole copies; 4/5 fails plainly', async () => {
    const owner = peers[0]!;
    const result = await owner.backup(source, { erasure: { k: 2, n: 4 } });
    const coded = piecesByShard(owner);
    expect(coded.size).to.be.greaterThanOrEqual(1);
    for (const pieces of coded.values()) expect(new Set(pieces.map((p) => p.host)).size).to.equal(3);
    // One piece short per coded shard (the metadata shard's 3 copies all found hosts).
    expect(result.shortfall).to.equal(coded.size);
    const dest = path.join(tempDir('dbs-erasure-small-dest-'), 'r');
    expect((await owner.restore(result.id, dest)).incomplete).to.deep.equal([]);
    expect(describeTree(dest)).to.deep.equal(describeTree(source));
    // K = 1 is whole copies, as replicas N: no piece contracts.
    writeFileSync(path.join(source, 'c.bin'), randomBytes(300 * 1024));
    const before = ownerContracts(owner).filter((c) => c.piece).length;
    const copies = await owner.backup(source, { erasure: { k: 1, n: 3 } });
    expect(copies.shortfall).to.equal(0);
    expect(ownerContracts(owner).filter((c) => c.piece).length).to.equal(before);
    // K = 4 pieces cannot find 4 hosts among 3: the backup fails plainly, nothing half-stored.
    writeFileSync(path.join(source, 'b.bin'), randomBytes(1500 * 1024));
    await owner.backup(source, { erasure: { k: 4, n: 5 } }).then(
      () => expect.fail('4/5 cannot be placed on 3 hosts'),
      (err: Error & { code?: string }) => {
        expect(err.code).to.equal('NO_HOST');
        expect(err.message).to.match(/only 3 of the 4 pieces needed found a host/);
      },
    );
    // The pieces it placed (3 per shard it tried) were cancelled: no orphan contracts.
    const tried = ownerContracts(owner).filter((c) => c.piece?.k === 4);
    expect(tried.length).to.be.greaterThanOrEqual(3);
    expect(tried.filter((c) => c.state !== 'cancelled')).to.deep.equal([]);
  });
});
