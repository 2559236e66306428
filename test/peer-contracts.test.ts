import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { statSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Peer } from '../src/peer/peer.js';
import { NegotiationError, type NegotiationRequest } from '../src/contracts/negotiation.js';
import { contractIdFromEncoded } from '../src/contracts/contract.js';
import { Propose, Reject } from '../src/contracts/messages.js';
import { RejectReason } from '../src/contracts/policy.js';
import { toHex } from '../src/util/bytes.js';
import { ManualClock } from '../src/util/clock.js';
import { MiB, peerOptions, startPeers, stopAll, tempDir, withClock } from './helpers/peers.js';

function shard(size = 10 * MiB): Omit<NegotiationRequest, 'replicas'> {
  return { shardHash: randomBytes(32), shardSize: size, merkleRoot: randomBytes(32) };
}

const hex = (k: Uint8Array) => toHex(k);

describe('peers negotiating contracts over real UDP', function () {
  this.timeout(30_000);

  describe('four peers', () => {
    let peers: Peer[] = [];
    before(async () => {
      peers = await startPeers(4);
    });
    after(() => stopAll(peers));

    it('gets contracts on 1, 2 and 3 distinct hosts, never itself, countersigned by each', async () => {
      const [owner] = peers as [Peer];
      for (const replicas of [1, 2, 3]) {
        const result = await owner.negotiate({ ...shard(), replicas });
        expect(result.contracts).to.have.length(replicas);
        expect(result.shortfall).to.equal(0);
        const hosts = result.contracts.map((c) => hex(c.counterpart));
        expect(new Set(hosts).size).to.equal(replicas);
        expect(hosts).not.to.include(hex(owner.publicKey));
        for (const c of result.contracts) {
          const hostPeer = peers.find((p) => hex(p.publicKey) === hex(c.counterpart))!;
          const theirs = hostPeer.contracts().find((x) => x.id === toHex(c.contract.id))!;
          expect(theirs.role).to.equal('host');
          expect(theirs.state).to.equal('pending');
          expect(theirs.counterpart).to.equal(hex(owner.publicKey));
        }
      }
      // The spare proposal of each wave was accepted too, then cancelled by the owner.
      const hostSide = peers.slice(1).flatMap((p) => p.contracts()).filter((c) => c.counterpart === hex(owner.publicKey));
      expect(hostSide.filter((c) => c.state === 'pending')).to.have.length(6);
      expect(hostSide.filter((c) => c.state === 'cancelled').length).to.be.at.least(1);
      // Both sides' ledgers agree on the live contracts.
      for (const hostPeer of peers.slice(1)) {
        const mine = owner.ledger().find((l) => l.counterpart === hex(hostPeer.publicKey))!;
        const theirs = hostPeer.ledger().find((l) => l.counterpart === hex(owner.publicKey))!;
        expect(mine.keptByThem).to.equal(theirs.keptForThem);
        expect(mine.keptByThem).to.be.greaterThan(0);
      }
      expect(peers[1]!.status().storage.promised).to.equal(peers[1]!.ledger().reduce((s, l) => s + l.keptForThem, 0));
      // Pending contracts promise space; none is used until a shard arrives.
      expect(peers[1]!.status().storage.used).to.equal(0);
    });

    it('says plainly when fewer hosts exist than replicas asked for', async () => {
      const result = await peers[2]!.negotiate({ ...shard(), replicas: 5 });
      expect(result.contracts).to.have.length(3);
      expect(result.shortfall).to.equal(2);
    });

    it('refuses a peer that offers no storage, with NO_STORAGE_OFFERED from every host', async () => {
      const freeloader = await Peer.start(peerOptions({ storage: 0, bootstrap: [peers[0]!.address] }));
      try {
        const err = await freeloader.negotiate({ ...shard(), replicas: 3 }).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(NegotiationError);
        const { refusals, message } = err as NegotiationError;
        expect(refusals).to.have.length(4);
        expect(refusals.every((r) => r.reason === 'NO_STORAGE_OFFERED')).to.equal(true);
        expect(message).to.match(/^no host accepted the contract: all 4 refused with NO_STORAGE_OFFERED \(this peer offers no storage/);
        expect(message).not.to.include('\n');
      } finally {
        await stopAll([freeloader]);
      }
    });
  });

  describe('reciprocity enforced by the host, on an injected clock', () => {
    const GRACE = 3600_000;
    const clock = new ManualClock();
    let peers: Peer[] = [];
    afterEach(() => stopAll(peers));

    // No shards travel in these tests, so reservations are held longer than the grace period.
    const options = { clock, contracts: { graceMs: GRACE, uploadTimeoutMs: GRACE * 10 }, maintenanceIntervalMs: 86_400_000 * 365 };

    it('marks a freeloader that refuses what it owes as a defaulter after the grace period and drops its contracts', async () => {
      peers = await startPeers(2, options);
      const [host, freeloader] = peers as [Peer, Peer];
      // The freeloader announces storage but refuses every proposal.
      freeloader.dht.rpc.handle(Propose, (body) => ({ spec: Reject, body: { contractId: contractIdFromEncoded(body.terms), reason: RejectReason.NO_SPACE } }));
      const placed = await freeloader.negotiate({ ...shard(), replicas: 1, candidates: [host.address] });
      expect(placed.contracts).to.have.length(1);

      // The host collects what it is owed: the freeloader refuses without excuse.
      const refused = await host.negotiate({ ...shard(), replicas: 1, candidates: [freeloader.address] }).catch((e: unknown) => e);
      expect(refused).to.be.instanceOf(NegotiationError);
      expect(host.ledger().find((l) => l.counterpart === hex(freeloader.publicKey))!.strikes).to.equal(1);

      clock.advance(GRACE - 1);
      await host.maintain();
      expect(host.ledger().find((l) => l.counterpart === hex(freeloader.publicKey))!.defaulterSince).to.equal(null);
      expect(host.contracts().filter((c) => c.state === 'pending')).to.have.length(1);

      clock.advance(1);
      const declaredFrom = clock.now();
      await withClock(clock, host.maintain());
      const standing = host.ledger().find((l) => l.counterpart === hex(freeloader.publicKey))!;
      // Declared during this pass (the clock may have moved on while it ran).
      expect(standing.defaulterSince).to.be.within(declaredFrom, clock.now());
      expect(standing.keptForThem).to.equal(0);
      expect(host.contracts().map((c) => c.state)).to.deep.equal(['cancelled']);
      // The freeloader was told, and is refused from now on.
      expect(freeloader.contracts().map((c) => c.state)).to.deep.equal(['cancelled']);
      const again = await freeloader.negotiate({ ...shard(), replicas: 1, candidates: [host.address] }).catch((e: unknown) => e);
      expect((again as NegotiationError).refusals.map((r) => r.reason)).to.deep.equal(['DEFAULTER']);
    });

    it('goes ahead without waiting for a dead candidate to time out', async () => {
      peers = await startPeers(4, options);
      const [owner, a, b, dead] = peers as [Peer, Peer, Peer, Peer];
      const deadAddress = dead.address;
      await stopAll([dead]);
      peers = [owner, a, b];
      const candidates = [deadAddress, a.address, b.address];
      // replicas + spare usable hosts answered: no wait at all. The clock never moves here, so
      // the dead peer's HELLO cannot time out; waiting for it would hang this test.
      const one = await owner.negotiate({ ...shard(), replicas: 1, candidates });
      expect(one.contracts).to.have.length(1);
      expect(one.refusals.map((r) => r.reason)).not.to.include('NO_ANSWER');
      // Only `replicas` usable hosts: it goes ahead once the grace (200 ms) is over, long before
      // the HELLO timeout (2 s), and the contracts land on the two live hosts.
      const two = await withClock(clock, owner.negotiate({ ...shard(), replicas: 2, candidates }), 250);
      expect(two.contracts.map((c) => hex(c.counterpart)).sort()).to.deep.equal([hex(a.publicKey), hex(b.publicKey)].sort());
      expect(two.refusals.map((r) => r.reason)).not.to.include('NO_ANSWER');
    });

    it('does not punish an honest peer that was briefly offline', async () => {
      peers = await startPeers(2, options);
      const [host, honest] = peers as [Peer, Peer];
      await honest.negotiate({ ...shard(), replicas: 1, candidates: [host.address] });
      const { dataDir, address } = honest;
      await honest.stop();

      // The host tries to collect while the peer is down: no answer is a strike.
      const attempt = await withClock(clock, host.negotiate({ ...shard(), replicas: 1, candidates: [address] }).catch((e: unknown) => e));
      expect((attempt as NegotiationError).refusals.map((r) => r.reason)).to.deep.equal(['NO_ANSWER']);
      expect(host.ledger().find((l) => l.counterpart === hex(honest.publicKey))!.strikes).to.equal(1);

      // It comes back on the same address well within the grace period and honours the request.
      clock.advance(GRACE / 4);
      const back = await Peer.start(peerOptions({ ...options, dataDir, port: address.port, bootstrap: [host.address] }));
      peers[1] = back;
      const paid = await host.negotiate({ ...shard(), replicas: 1, candidates: [address] });
      expect(paid.contracts).to.have.length(1);

      clock.advance(GRACE * 2);
      await host.maintain();
      const standing = host.ledger().find((l) => l.counterpart === hex(back.publicKey))!;
      expect(standing.strikes).to.equal(0);
      expect(standing.defaulterSince).to.equal(null);
      expect(host.contracts().filter((c) => c.role === 'host').map((c) => c.state)).to.deep.equal(['pending']);
    });

    it('releases a reservation whose upload never came', async () => {
      peers = await startPeers(2, { ...options, contracts: { graceMs: GRACE, uploadTimeoutMs: 60_000 } });
      const [host, owner] = peers as [Peer, Peer];
      await owner.negotiate({ ...shard(50 * MiB), replicas: 1, candidates: [host.address] });
      expect(host.status().storage.promised).to.equal(50 * MiB);
      clock.advance(60_000);
      await host.maintain();
      expect(host.contracts().map((c) => c.state)).to.deep.equal(['released']);
      expect(host.status().storage.promised).to.equal(0);
    });
  });

  describe('identity and restarts', function () {
    // The restarts and the lookup wait on the stopped peer's old address: about six 2 s request
    // timeouts (12-14 s alone; one CI run on a loaded machine went past 30 s).
    this.timeout(60_000);
    const started: Peer[] = [];
    after(() => stopAll(started));

    it('keeps identity, contracts and ledger across a restart; the recovery key alone restores the identity on a new port', async () => {
      const [a, b, c] = await startPeers(3);
      started.push(a!, b!, c!);
      expect(a!.identityCreated).to.equal(true);
      const keyFile = path.join(a!.dataDir, 'identity.key');
      expect(statSync(keyFile).mode & 0o777).to.equal(0o600);
      expect(readFileSync(keyFile, 'utf8').trim()).to.equal(a!.recoveryKey);

      await a!.negotiate({ ...shard(), replicas: 2 });
      const contractsBefore = a!.contracts();
      const ledgerBefore = a!.ledger();
      const { dataDir, recoveryKey, publicKey } = a!;
      await a!.stop();

      const again = await Peer.start(peerOptions({ dataDir, bootstrap: [b!.address] }));
      started.push(again);
      expect(again.identityCreated).to.equal(false);
      expect(hex(again.publicKey)).to.equal(hex(publicKey));
      expect(again.contracts()).to.deep.equal(contractsBefore);
      expect(again.ledger()).to.deep.equal(ledgerBefore);
      await again.stop();

      // A new machine: empty data directory, only the recovery key, another port.
      const moved = await Peer.start(peerOptions({ dataDir: tempDir(), recoveryKey, bootstrap: [b!.address] }));
      started.push(moved);
      expect(hex(moved.publicKey)).to.equal(hex(publicKey));
      const found = await c!.findPeer(publicKey);
      expect(found).to.include({ host: '127.0.0.1', port: moved.address.port, verified: true });

      // A data directory of one identity refuses another recovery key.
      const other = started[1]!.recoveryKey;
      const refused = await Peer.start(peerOptions({ dataDir, recoveryKey: other })).catch((e: unknown) => e);
      expect((refused as Error).message).to.match(/already belongs to another identity/);
    });
  });
});
