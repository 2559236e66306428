/**
 * A host's database runs out of space (SQLITE_FULL) while it accepts a proposal (issue 19): the
 * disk filled after the host's last free-space sample, so the reciprocity policy says yes and
 * the write of the reservation is what fails. The owner gets a refusal it understands
 * (DISK_FULL), not silence; the host starts its full episode (nothing announced free, one
 * warning); the database stays whole; once there is room again the host accepts and stores
 * shards, also after a restart. A tmpfs mounted by the test; skips, saying why, without root.
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Peer } from '../../src/peer/peer.js';
import { encodeTerms, propose } from '../../src/contracts/contract.js';
import { RejectReason } from '../../src/contracts/policy.js';
import { Accept, Propose, Reject } from '../../src/contracts/messages.js';
import { ManualClock } from '../../src/util/clock.js';
import { randomFile } from '../helpers/host-harness.js';
import { GiB, MiB, peerOptions, startPeers, stopAll, tempDir, withClock } from '../helpers/peers.js';
import { mountSmallFsOrSkip, type SmallFs } from '../helpers/small-fs.js';

describe("faults: a host's database on a full disk (SQLITE_FULL)", function () {
  this.timeout(120_000);
  let fsys: SmallFs | null = null;
  let peers: Peer[] = [];
  const work = tempDir('dbs-host-db-full-');

  before(function () {
    fsys = mountSmallFsOrSkip(this, 40 * MiB);
  });
  after(async () => {
    await stopAll(peers);
    fsys?.unmount();
    rmSync(work, { recursive: true, force: true });
  });

  it('refuses DISK_FULL instead of going silent, keeps the database whole, and accepts again once there is room', async () => {
    const small = fsys!;
    const clock = new ManualClock();
    peers = await startPeers(1, { clock });
    const owner = peers[0]!;
    const dataDir = path.join(small.dir, 'peer');
    const options = peerOptions({ clock, dataDir, storage: GiB, disk: { reserveBytes: MiB, reserveFraction: 0 }, bootstrap: [owner.address] });
    let host = await Peer.start(options);
    peers.push(host);
    const warnings: unknown[] = [];
    host.shards.space.on('full', (e) => warnings.push(e));
    const ask = async (to: Peer) => {
      const p = propose(owner.signing, {
        host: to.publicKey,
        shardHash: new Uint8Array(randomBytes(32)),
        shardSize: 64 * 1024,
        merkleRoot: new Uint8Array(32),
        durationSeconds: 86_400,
        auditIntervalSeconds: 3600,
        auditSamples: 4,
        ownerOffer: GiB,
        nowSeconds: Math.floor(clock.now() / 1000),
      });
      // The clock moves only while nothing else is pending: a silent host ends in a timeout, not a hang.
      const answer = await withClock(clock, owner.dht.rpc.requestAny(to.address, Propose, { terms: encodeTerms(p.terms), ownerSignature: p.ownerSignature }, [Accept, Reject]));
      return answer.spec === Accept ? 'ACCEPT' : (answer.body as { reason: number }).reason;
    };
    expect(await ask(host)).to.equal('ACCEPT');
    expect(host.status().storage.free).to.be.greaterThan(16 * MiB);
    const handlerErrors = host.dht.rpc.stats().handlerErrors;

    // Another program fills the disk to the last byte; the host's sample (clock not moved) still says there is room.
    const filler = small.fill(0);
    // The reservation's write fails with SQLITE_FULL: refused DISK_FULL, answered, not silent.
    expect(await ask(host)).to.equal(RejectReason.DISK_FULL);
    expect(host.dht.rpc.stats().handlerErrors).to.equal(handlerErrors);
    expect(host.shards.space.isFull).to.equal(true);
    expect(host.status().storage.free).to.equal(0);
    expect(warnings).to.have.length(1);
    // The next ones are refused by the policy at once (the episode), with no second warning.
    expect(await ask(host)).to.equal(RejectReason.DISK_FULL);
    expect(warnings).to.have.length(1);
    expect(host.contracts().filter((c) => c.role === 'host')).to.have.length(1);

    // Room again: the next sample ends the episode, a shard is placed and kept.
    rmSync(filler);
    await host.shards.space.refresh(); // one that may have started before the filler went
    clock.advance(10_000);
    await host.shards.space.refresh();
    expect(host.shards.space.isFull).to.equal(false);
    const { file } = randomFile(work, MiB + 11);
    const placed = await owner.placeShard(file, { replicas: 1 });
    expect(placed.contracts).to.have.length(1);
    expect(await host.shards.has(placed.hash)).to.equal(true);

    // The database is whole (SQLite's own check), and the host starts again on it with what it holds.
    await host.stop();
    const db = new Database(path.join(dataDir, 'peer.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).to.equal('ok');
    db.close();
    host = await withClock(clock, Peer.start({ ...options, port: host.address.port }));
    peers[1] = host;
    expect(host.contracts().filter((c) => c.role === 'host' && c.state === 'active')).to.have.length(1);
    expect((await withClock(clock, owner.audit(placed.contracts[0]!))).passed).to.equal(true);
  });
});
