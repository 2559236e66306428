/**
 * Full disks, host side (issue 19): a host whose data directory sits on a small real file
 * system (a tmpfs mounted by the test) offers far more than it has. What it announces and
 * accepts must follow the disk, and a disk that fills during an upload must leave nothing
 * behind but a clear refusal.
 */
import { expect } from 'chai';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Peer } from '../../src/peer/peer.js';
import { encodeTerms, propose } from '../../src/contracts/contract.js';
import { RejectReason } from '../../src/contracts/policy.js';
import { Accept, Propose, Reject } from '../../src/contracts/messages.js';
import { TransferError } from '../../src/transfer/frames.js';
import { toHex } from '../../src/util/bytes.js';
import { ManualClock } from '../../src/util/clock.js';
import { randomFile } from '../helpers/host-harness.js';
import { GiB, MiB, peerOptions, startPeers, stopAll, tempDir } from '../helpers/peers.js';
import { mountSmallFsOrSkip, type SmallFs } from '../helpers/small-fs.js';
import { writeFileAtomic } from '../../src/util/atomic-file.js';

function partials(peer: Peer): string[] {
  return readdirSync(path.join(peer.shards.dir, 'tmp'));
}

describe('faults: a full disk on the host side', function () {
  this.timeout(120_000);
  let fsys: SmallFs | null = null;
  let peers: Peer[] = [];
  const work = tempDir('dbs-diskfull-');

  before(function () {
    fsys = mountSmallFsOrSkip(this, 40 * MiB);
  });
  afterEach(async () => {
    await stopAll(peers);
    peers = [];
    if (fsys) for (const name of readdirSync(fsys.dir)) rmSync(path.join(fsys.dir, name), { recursive: true, force: true });
  });
  after(() => {
    fsys?.unmount();
    rmSync(work, { recursive: true, force: true });
  });

  it('a host on a 40 MiB disk offering 4 GiB announces its real space; a replicas-3 backup completes on the others', async () => {
    const small = fsys!;
    peers = await startPeers(4);
    const tiny = await Peer.start(peerOptions({ dataDir: path.join(small.dir, 'peer'), storage: 4 * GiB, bootstrap: [peers[0]!.address] }));
    peers.push(tiny);
    const owner = peers[0]!;
    const reserve = tiny.shards.space.reserve(40 * MiB);
    // What it announces (HELLO, status, peer record) is what its disk can take, not 4 GiB.
    const real = small.available() - reserve;
    // Free space is sampled (statfs at most 5 s old) and the record published at start: the
    // peer's own database and log may have taken a few KiB since (16 KiB in full runs), so each
    // figure may say slightly more than is free this instant, never anything near 4 GiB.
    const slack = 1 * MiB;
    const hello = await owner.hello(tiny.address);
    expect(hello.offered).to.equal(4 * GiB);
    expect(hello.free).to.be.at.most(real + slack).and.at.least(real - 2 * MiB);
    expect(tiny.status().storage.free).to.be.at.most(real + slack);
    const record = await owner.findPeer(tiny.publicKey);
    expect(record?.free).to.be.at.most(real + slack);

    const source = path.join(work, 'src');
    mkdirSync(source, { recursive: true });
    writeFileSync(path.join(source, 'a.bin'), randomBytes(20 * MiB));
    writeFileSync(path.join(source, 'b.bin'), randomBytes(3 * MiB));
    const result = await owner.backup(source, { replicas: 3 });
    expect(result.shortfall).to.equal(0);

    // Every shard has 3 active contracts, none of them a shard bigger than the tiny disk had room for.
    const byShard = new Map<string, { size: number; hosts: string[] }>();
    for (const c of owner.contracts().filter((c) => c.role === 'owner' && c.state === 'active')) {
      const entry = byShard.get(c.shardHash) ?? { size: c.size, hosts: [] };
      entry.hosts.push(c.counterpart);
      byShard.set(c.shardHash, entry);
    }
    // Two shards of data (16 MiB and the rest); trees, index delta and catalog travel in the
    // last one (metadata shards of their own are gone with the tree format, issue 15).
    expect(byShard.size).to.be.at.least(2);
    for (const { size, hosts } of byShard.values()) {
      expect(new Set(hosts).size).to.equal(3);
      if (size > real) expect(hosts).to.not.include(toHex(tiny.publicKey));
    }
    // Nothing partial on the small disk, and it still says what it really has.
    expect(partials(tiny)).to.deep.equal([]);
    await tiny.shards.space.refresh();
    expect(tiny.status().storage.free).to.be.at.most(small.available() - reserve);
  });

  it('an atomic write that runs out of space leaves no temporary file', async () => {
    const small = fsys!;
    const dir = path.join(small.dir, 'atomic');
    mkdirSync(dir);
    const filler = small.fill(256 * 1024);
    const err = await writeFileAtomic(path.join(dir, 'big'), randomBytes(2 * MiB)).then(
      () => null,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(err?.code).to.equal('ENOSPC');
    expect(readdirSync(dir)).to.deep.equal([]);
    rmSync(filler);
  });

  it('a disk that fills during uploads: partial files dropped, reservations freed, DISK_FULL, one warning, then room again', async () => {
    const small = fsys!;
    const clock = new ManualClock();
    peers = await startPeers(1, { clock });
    const host = await Peer.start(
      peerOptions({ clock, dataDir: path.join(small.dir, 'peer'), storage: 4 * GiB, disk: { reserveBytes: MiB, reserveFraction: 0 }, bootstrap: [peers[0]!.address] }),
    );
    peers.push(host);
    const owner = peers[0]!;
    const warnings: unknown[] = [];
    host.shards.space.on('full', (e) => warnings.push(e));

    // Two 8 MiB shards are accepted while the disk has room for both...
    const files = [randomFile(work, 8 * MiB), randomFile(work, 8 * MiB + 3)];
    const contracts = [];
    for (const { file } of files) {
      const { ParallelShardHasher } = await import('../../src/storage/parallel-hasher.js');
      const hasher = new ParallelShardHasher();
      const { readFileSync } = await import('node:fs');
      await hasher.write(readFileSync(file));
      const d = await hasher.digest();
      const n = await owner.negotiate({ shardHash: d.hash, shardSize: d.size, merkleRoot: d.root, replicas: 1, candidates: [host.address] });
      expect(n.contracts).to.have.length(1);
      contracts.push(n.contracts[0]!);
    }
    // ...then something else fills the disk (another program, a log) before the bytes arrive.
    const filler = small.fill(512 * 1024);
    const outcomes = await Promise.allSettled(contracts.map((c, i) => owner.upload(c, files[i]!.file)));
    for (const o of outcomes) {
      expect(o.status).to.equal('rejected');
      const err = (o as PromiseRejectedResult).reason as TransferError;
      expect(err.code).to.equal('DISK_FULL');
      expect(err.message).to.equal("the host's disk is full");
    }
    expect(warnings).to.have.length(1);
    expect(partials(host)).to.deep.equal([]);
    expect(await host.shards.list()).to.deep.equal([]);
    // Both reservations were given back at once, not when they would have lapsed.
    const hosted = host.contracts().filter((c) => c.role === 'host');
    expect(hosted.map((c) => c.state)).to.deep.equal(['released', 'released']);
    expect(host.status().storage.free).to.equal(0);

    // A proposal now is refused with the typed reason the owner's CLI explains.
    const p = propose(owner.signing, {
      host: host.publicKey,
      shardHash: new Uint8Array(randomBytes(32)),
      shardSize: MiB,
      merkleRoot: new Uint8Array(32),
      durationSeconds: 86_400,
      auditIntervalSeconds: 3600,
      auditSamples: 4,
      ownerOffer: GiB,
      nowSeconds: Math.floor(clock.now() / 1000),
    });
    const answer = await owner.dht.rpc.requestAny(host.address, Propose, { terms: encodeTerms(p.terms), ownerSignature: p.ownerSignature }, [Accept, Reject]);
    expect(answer.spec).to.equal(Reject);
    expect((answer.body as { reason: number }).reason).to.equal(RejectReason.DISK_FULL);

    // Room again: the episode ends with the next sample, and the same shard is then kept.
    rmSync(filler);
    clock.advance(10_000);
    await host.shards.space.refresh();
    expect(host.shards.space.isFull).to.equal(false);
    const placed = await owner.placeShard(files[0]!.file, { replicas: 1 });
    expect(placed.contracts).to.have.length(1);
    expect(await host.shards.has(placed.hash)).to.equal(true);
    expect(warnings).to.have.length(1);
  });
});
