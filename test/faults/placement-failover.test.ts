/**
 * Placement that routes around a failing host (issue 19): a host accepts a contract and then
 * fails the upload, because its disk (a real tmpfs mounted by the test) filled between its
 * last free-space sample and the bytes arriving. The backup places those replicas on other
 * hosts in the same backup, and repair does not ask that host again while it backs off.
 *
 * The small host's free-space sample is kept from refreshing by its own ManualClock (not
 * advanced until the test says): the 5 s window of a real race between sample and upload,
 * held open. All other peers run on real time; the owner's clock can be moved ahead.
 */
import { expect } from 'chai';
import { renderBackoff } from '../../src/cli/render.js';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Peer } from '../../src/peer/peer.js';
import type { PeerPlacer } from '../../src/peer/placement.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { ManualClock, systemClock, type Clock } from '../../src/util/clock.js';
import { GiB, MiB, peerOptions, startPeers, stopAll, tempDir } from '../helpers/peers.js';
import { mountSmallFsOrSkip, type SmallFs } from '../helpers/small-fs.js';
import { randomFile } from '../helpers/host-harness.js';
import { ParallelShardHasher } from '../../src/storage/parallel-hasher.js';

const backup = { shardSize: MiB, chunkSizes: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 } };

function placerOf(peer: Peer): PeerPlacer {
  return (peer as unknown as { services: { placer: PeerPlacer } }).services.placer;
}

describe('faults: placement routes around a host that fails its uploads', function () {
  this.timeout(120_000);
  let fsys: SmallFs | null = null;
  const peers: Peer[] = [];
  const work = tempDir('dbs-failover-');

  before(function () {
    fsys = mountSmallFsOrSkip(this, 24 * MiB);
  });
  after(async () => {
    await stopAll(peers);
    fsys?.unmount();
    rmSync(work, { recursive: true, force: true });
  });

  it('a host that accepts and then runs out of disk mid-upload: the backup ends with full replicas elsewhere, and repair skips that host', async () => {
    const small = fsys!;
    // The owner's clock can be moved ahead of real time (past the backoff), well inside the ±10 min tolerance.
    let ownerOffset = 0;
    const ownerClock: Clock = { ...systemClock, now: () => Date.now() + ownerOffset };
    const opts = { backup, contracts: { allowance: 64 * GiB } };
    const owner = await Peer.start(peerOptions({ ...opts, clock: ownerClock }));
    peers.push(owner);
    peers.push(...(await startPeers(4, { ...opts, bootstrap: [owner.address] })).slice(0));
    const tinyClock = new ManualClock(Date.now());
    const tiny = await Peer.start(
      peerOptions({ ...opts, clock: tinyClock, dataDir: path.join(small.dir, 'peer'), storage: 4 * GiB, disk: { reserveBytes: 256 * 1024, reserveFraction: 0 }, bootstrap: [owner.address] }),
    );
    peers.push(tiny);
    const others = peers.slice(1, 5);
    const fullEpisodes: unknown[] = [];
    tiny.shards.space.on('full', (e) => fullEpisodes.push(e));
    // It announces ~20 MiB free (its last sample); then another program fills its disk.
    expect((await owner.hello(tiny.address)).free).to.be.greaterThan(10 * MiB);
    const filler = small.fill(300 * 1024);
    expect((await owner.hello(tiny.address)).free, 'the stale sample still offers room').to.be.greaterThan(10 * MiB);

    // Replicas 4 among 5 hosts: each shard's first wave asks all 5, so the small host is
    // almost always among the 4 kept, and its upload fails.
    const source = path.join(work, 'src');
    mkdirSync(source);
    for (let i = 0; i < 3; i++) writeFileSync(path.join(source, `f${i}.bin`), randomBytes(900 * 1024));
    const result = await owner.backup(source, { replicas: 4 });

    expect(fullEpisodes.length, 'the small host ran out of space during an upload').to.be.at.least(1);
    expect(result.shortfall, 'no replica short: the failed ones went to other hosts').to.equal(0);
    const live = owner.contracts().filter((c) => c.role === 'owner' && c.state === 'active');
    const shards = new Set(live.map((c) => c.shardHash));
    expect(shards.size).to.be.at.least(3);
    for (const s of shards) {
      const hosts = live.filter((c) => c.shardHash === s).map((c) => c.counterpart);
      expect(new Set(hosts).size, s).to.equal(4);
      expect(hosts).to.not.include(toHex(tiny.publicKey));
    }
    // Nothing kept or half-written on the small host; the owner remembers why it backs off.
    expect(readdirSync(path.join(tiny.shards.dir, 'tmp'))).to.deep.equal([]);
    expect(await tiny.shards.list()).to.deep.equal([]);
    const entry = placerOf(owner).backoff.list().find((e) => toHex(e.host) === toHex(tiny.publicKey));
    expect(entry?.reason).to.equal("the host's disk is full");
    expect(entry!.until).to.be.greaterThan(ownerClock.now());
    // dbs status (and its JSON) shows it: the host, why, and until when it is held back.
    const shown = owner.status().backoff.find((b) => b.host === toHex(tiny.publicKey));
    expect(shown).to.deep.include({ reason: "the host's disk is full", until: entry!.until, waiting: true });
    expect(renderBackoff(owner.status().backoff).join('\n')).to.include(`${toHex(tiny.publicKey).slice(0, 12)} not asked until `);

    // Room again on the small host (its next sample ends the full episode)...
    rmSync(filler);
    tinyClock.advance(10_000);
    await tiny.shards.space.refresh();
    expect(tiny.shards.space.isFull).to.equal(false);
    expect((await owner.hello(tiny.address)).free).to.be.greaterThan(10 * MiB);
    // ...and one shard loses a replica: its host leaves and the owner cancels that contract.
    const gone = others[0]!;
    await gone.stop();
    // A data shard's (a new catalog would replace a catalog shard, and its contracts with it).
    const lost = live.find((c) => c.counterpart === toHex(gone.publicKey) && c.size > 500 * 1024)!;
    await owner.contractService.owner.cancel(owner.contractService.store.get(fromHex(lost.id))!);

    // Repair's only candidate is the host that just failed: it is not asked while it backs off.
    const hostedBefore = tiny.contracts().length;
    expect((await owner.backupsMaintain()).replaced).to.equal(0);
    expect(tiny.contracts().length, 'no proposal reached the host in backoff').to.equal(hostedBefore);
    expect(owner.contracts().filter((c) => c.role === 'owner' && c.state === 'active' && c.shardHash === lost.shardHash)).to.have.length(3);

    // Once its backoff is over (1 min, doubled per failure in a row: the owner's clock moved past
    // its end), repair places the replica there.
    const until = placerOf(owner).backoff.list().find((e) => toHex(e.host) === toHex(tiny.publicKey))!.until;
    expect(until - ownerClock.now()).to.be.within(1, 4 * 60_000);
    ownerOffset = until - Date.now() + 1000;
    expect((await owner.backupsMaintain()).replaced).to.equal(1);
    const now = owner.contracts().filter((c) => c.role === 'owner' && c.state === 'active' && c.shardHash === lost.shardHash);
    expect(now.map((c) => c.counterpart)).to.include(toHex(tiny.publicKey));
    expect(await tiny.shards.has(fromHex(lost.shardHash))).to.equal(true);
    expect(placerOf(owner).backoff.list().map((e) => toHex(e.host))).to.not.include(toHex(tiny.publicKey));
    expect(owner.status().backoff.map((b) => b.host)).to.not.include(toHex(tiny.publicKey));
  });

  it('an upload that fails on our side (our shard file gone) backs off no host and is not offered to others', async () => {
    const three = await startPeers(3);
    peers.push(...three);
    const owner = three[0]!;
    const { file, data } = randomFile(work, 300 * 1024);
    const hasher = new ParallelShardHasher();
    await hasher.write(data);
    const digest = await hasher.digest();
    rmSync(file);
    const placed = await owner.placeShard(file, { replicas: 2, digest });
    expect(placed.contracts).to.deep.equal([]);
    // One round only: the two hosts asked, both uploads failed on our file, nobody else asked.
    expect(placed.failedUploads).to.have.length(2);
    expect(placerOf(owner).backoff.list()).to.deep.equal([]);
  });
});
