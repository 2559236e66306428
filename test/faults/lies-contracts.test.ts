/**
 * Lies about identity and contracts, told over real UDP to live peers by a raw socket:
 * claiming another node's ID, forged, altered, misaddressed, stale and replayed proposals,
 * forged and replayed acceptances, a HELLO under someone else's key, and a peer that
 * announces storage and then refuses every proposal while it owes storage.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Packr } from 'msgpackr';
import { generateSigningKeyPair, type SigningKeyPair } from '../../src/crypto/ed25519.js';
import { type Contract, contractIdFromEncoded, decodeTerms, encodeTerms, propose, signAsHost, signCancel } from '../../src/contracts/contract.js';
import { Accept, Cancel, Cancelled, Propose, Reject } from '../../src/contracts/messages.js';
import { RejectReason } from '../../src/contracts/policy.js';
import { NegotiationError } from '../../src/contracts/negotiation.js';
import type { Address } from '../../src/net/address.js';
import { nodeIdFromAddress } from '../../src/net/node-id.js';
import { toHex } from '../../src/util/bytes.js';
import { FindNode, Ping, Pong, Store } from '../../src/dht/messages.js';
import { Peer } from '../../src/peer/peer.js';
import { Hello, HelloReply, signHello } from '../../src/peer/hello.js';
import { ManualClock } from '../../src/util/clock.js';
import type { Envelope } from '../../src/wire/codec.js';
import { RawUdp } from '../helpers/liars.js';
import { until } from '../helpers/network.js';
import { MiB, startPeers, stopAll, withClock } from '../helpers/peers.js';

/** A signed proposal from `owner` to `host`, as the bytes that go on the wire. */
function proposal(owner: SigningKeyPair, host: Uint8Array, over: { size?: number; nowSeconds?: number } = {}): { terms: Uint8Array; ownerSignature: Uint8Array; contract: Contract } {
  const contract = propose(owner, {
    host,
    shardHash: randomBytes(32),
    shardSize: over.size ?? MiB,
    merkleRoot: randomBytes(32),
    durationSeconds: 86_400,
    auditIntervalSeconds: 3600,
    auditSamples: 8,
    ownerOffer: 2 ** 30,
    nowSeconds: over.nowSeconds ?? Math.floor(Date.now() / 1000),
  });
  return { terms: encodeTerms(contract.terms), ownerSignature: contract.ownerSignature, contract };
}

function reasonOf(e: Envelope): number | 'ACCEPT' {
  return e.type === Accept.type ? 'ACCEPT' : (e.body as { reason: number }).reason;
}

/** A liar's HELLO answer under its own key, offering plenty of space. */
function helloAs(keys: SigningKeyPair, self: Address, claimKey = keys.publicKey) {
  return (e: Envelope) => {
    const { challenge } = e.body as { challenge: Uint8Array };
    const offered = 2 ** 40;
    return { spec: HelloReply, body: { publicKey: claimKey, offered, free: offered, signature: signHello(keys, challenge, self, offered, offered) } };
  };
}

describe('lies: identities and contracts over real UDP', function () {
  this.timeout(60_000);

  describe('against a live host', () => {
    let peers: Peer[] = [];
    let liar: RawUdp;
    const liarKeys = generateSigningKeyPair();
    before(async () => {
      peers = await startPeers(2);
      liar = await RawUdp.open('127.0.0.5');
    });
    after(async () => {
      await liar.close();
      await stopAll(peers);
    });

    it("drops and counts datagrams that claim another node's ID, and answers none of them", async () => {
      const [host, honest] = peers as [Peer, Peer];
      const before = host.status().dht;
      const as = nodeIdFromAddress(honest.address);
      const p = proposal(liarKeys, host.publicKey);
      liar.send(Ping, {}, host.address, { as });
      liar.send(FindNode, { target: randomBytes(20) }, host.address, { as });
      liar.send(Hello, { challenge: randomBytes(16) }, host.address, { as });
      liar.send(Propose, { terms: p.terms, ownerSignature: p.ownerSignature }, host.address, { as });
      liar.send(Cancel, { contractId: p.contract.id, signature: signCancel(liarKeys, p.contract.id) }, host.address, { as });
      liar.send(Store, { key: randomBytes(20), token: randomBytes(8), ttl: 60, record: { value: randomBytes(10) } }, host.address, { as });
      // Its own ID on the same socket: answered, and proof the six before it were processed.
      const pong = await liar.ask(Ping, {}, host.address);
      expect(pong.type).to.equal(Pong.type);
      const after = host.status().dht;
      expect(after.droppedSpoofed - before.droppedSpoofed).to.equal(6);
      expect(after.requestsHandled - before.requestsHandled).to.equal(1);
      expect(liar.received.filter((r) => r.envelope.spec.isResponse).map((r) => r.envelope.spec.name)).to.deep.equal(['PONG']);
      expect(host.contracts()).to.deep.equal([]);
    });

    it('refuses forged, altered, misaddressed, non-canonical and stale proposals with their reason codes', async () => {
      const [host, honest] = peers as [Peer, Peer];
      const ask = async (terms: Uint8Array, ownerSignature: Uint8Array) => reasonOf(await liar.ask(Propose, { terms, ownerSignature }, host.address));
      const now = Math.floor(Date.now() / 1000);
      const good = proposal(liarKeys, host.publicKey);
      // A made-up signature.
      expect(await ask(good.terms, randomBytes(64))).to.equal(RejectReason.BAD_SIGNATURE);
      // Terms altered after signing: a bigger shard, the signature kept.
      const altered = encodeTerms({ ...decodeTerms(good.terms), shardSize: 2 * MiB });
      expect(await ask(altered, good.ownerSignature)).to.equal(RejectReason.BAD_SIGNATURE);
      // Another peer's key named as owner, signed by the liar.
      const stolen = proposal(liarKeys, host.publicKey);
      const asHonest = encodeTerms({ ...stolen.contract.terms, owner: honest.publicKey });
      expect(await ask(asHonest, stolen.ownerSignature)).to.equal(RejectReason.BAD_SIGNATURE);
      // Meant for another host.
      const elsewhere = proposal(liarKeys, honest.publicKey);
      expect(await ask(elsewhere.terms, elsewhere.ownerSignature)).to.equal(RejectReason.NOT_FOR_ME);
      // Not canonically encoded (same values as a map instead of the array).
      const loose = new Packr({ useRecords: false }).pack({ ...decodeTerms(good.terms) });
      expect(await ask(loose, good.ownerSignature)).to.equal(RejectReason.BAD_TERMS);
      // Signed half an hour ago, or an hour in the future (clocks may differ by 10 min: docs/protocol.md).
      const old = proposal(liarKeys, host.publicKey, { nowSeconds: now - 1800 });
      expect(await ask(old.terms, old.ownerSignature)).to.equal(RejectReason.EXPIRED);
      const future = proposal(liarKeys, host.publicKey, { nowSeconds: now + 3600 });
      expect(await ask(future.terms, future.ownerSignature)).to.equal(RejectReason.EXPIRED);
      expect(host.contracts()).to.deep.equal([]);
      expect(host.status().storage.promised).to.equal(0);
      expect(host.contractService.host.counters.rejected).to.deep.include({ BAD_SIGNATURE: 3, NOT_FOR_ME: 1, BAD_TERMS: 1, EXPIRED: 2 });
    });

    it('answers a replayed live proposal with the same acceptance (one reservation), and refuses it once cancelled', async () => {
      const [host] = peers as [Peer];
      const p = proposal(liarKeys, host.publicKey, { size: 3 * MiB });
      const first = await liar.ask(Propose, { terms: p.terms, ownerSignature: p.ownerSignature }, host.address);
      const again = await liar.ask(Propose, { terms: p.terms, ownerSignature: p.ownerSignature }, host.address);
      expect(reasonOf(first)).to.equal('ACCEPT');
      expect(toHex((again.body as { hostSignature: Uint8Array }).hostSignature)).to.equal(toHex((first.body as { hostSignature: Uint8Array }).hostSignature));
      expect(host.status().storage.promised).to.equal(3 * MiB);
      const cancelled = await liar.ask(Cancel, { contractId: p.contract.id, signature: signCancel(liarKeys, p.contract.id) }, host.address);
      expect(cancelled.type).to.equal(Cancelled.type);
      expect(host.status().storage.promised).to.equal(0);
      expect(reasonOf(await liar.ask(Propose, { terms: p.terms, ownerSignature: p.ownerSignature }, host.address))).to.equal(RejectReason.REPLAYED);
      // A CANCEL signed by anyone but the other party gets no answer and changes nothing.
      const q = proposal(liarKeys, host.publicKey);
      await liar.ask(Propose, { terms: q.terms, ownerSignature: q.ownerSignature }, host.address);
      liar.send(Cancel, { contractId: q.contract.id, signature: signCancel(generateSigningKeyPair(), q.contract.id) }, host.address);
      // A PING after it: once its PONG is back, any answer to the CANCEL would have been too.
      await liar.ask(Ping, {}, host.address);
      expect(liar.ofType(Cancelled)).to.have.length(1);
      expect(host.contracts().find((c) => c.id === toHex(q.contract.id))!.state).to.equal('pending');
    });

    it('drops an ACCEPT nobody asked for (a replayed acceptance) as unexpected', async () => {
      const [host] = peers as [Peer];
      const before = host.status().dht.droppedUnexpected;
      const p = proposal(liarKeys, host.publicKey);
      liar.send(Accept, { contractId: p.contract.id, hostSignature: signAsHost(liarKeys, p.contract.id) }, host.address);
      liar.send(Reject, { contractId: p.contract.id, reason: 2 }, host.address);
      await until(() => host.status().dht.droppedUnexpected === before + 2, 'unexpected answers counted');
      expect(host.contracts().some((c) => c.id === toHex(p.contract.id))).to.equal(false);
    });
  });

  describe('against a live owner', () => {
    let peers: Peer[] = [];
    let liar: RawUdp;
    const liarKeys = generateSigningKeyPair();
    before(async () => {
      peers = await startPeers(1);
      liar = await RawUdp.open('127.0.0.6');
    });
    after(async () => {
      await liar.close();
      await stopAll(peers);
    });

    it('refuses a HELLO answered under a key the answerer does not hold', async () => {
      const [owner] = peers as [Peer];
      const victim = generateSigningKeyPair();
      liar.autoReply = (e) => (e.type === Hello.type ? helloAs(liarKeys, liar.address, victim.publicKey)(e) : undefined);
      const err = await owner.hello(liar.address).catch((e: unknown) => e);
      expect((err as Error).message).to.match(/bad signature/);
    });

    it('refuses acceptances that are replayed from another contract or signed by another key', async () => {
      const [owner] = peers as [Peer];
      const shard = { shardHash: randomBytes(32), shardSize: MiB, merkleRoot: randomBytes(32) };
      let genuine: { contractId: Uint8Array; hostSignature: Uint8Array } | undefined;
      let mode: 'honest' | 'replay' | 'other-key' = 'honest';
      liar.autoReply = (e) => {
        if (e.type === Hello.type) return helloAs(liarKeys, liar.address)(e);
        if (e.type !== Propose.type) return undefined;
        const cid = contractIdFromEncoded((e.body as { terms: Uint8Array }).terms);
        if (mode === 'honest') {
          genuine = { contractId: cid, hostSignature: signAsHost(liarKeys, cid) };
          return { spec: Accept, body: genuine };
        }
        if (mode === 'replay') return { spec: Accept, body: genuine! };
        return { spec: Accept, body: { contractId: cid, hostSignature: signAsHost(generateSigningKeyPair(), cid) } };
      };
      const first = await owner.negotiate({ ...shard, replicas: 1, candidates: [liar.address] });
      expect(first.contracts).to.have.length(1);
      for (const m of ['replay', 'other-key'] as const) {
        mode = m;
        const err = await owner.negotiate({ ...shard, shardHash: randomBytes(32), replicas: 1, candidates: [liar.address] }).catch((e: unknown) => e);
        expect(err, m).to.be.instanceOf(NegotiationError);
        expect((err as NegotiationError).refusals.map((r) => r.reason), m).to.deep.equal(['BAD_ANSWER']);
      }
      expect(owner.contracts().filter((c) => c.role === 'owner')).to.have.length(1);
    });
  });

  describe('a peer that announces storage, then refuses every proposal while it owes', () => {
    const GRACE = 3600_000;
    const clock = new ManualClock();
    let peers: Peer[] = [];
    let liar: RawUdp;
    const liarKeys = generateSigningKeyPair();
    before(async () => {
      const options = { clock, contracts: { graceMs: GRACE, uploadTimeoutMs: GRACE * 10 }, maintenanceIntervalMs: 86_400_000 * 20 };
      peers = await startPeers(2, options);
      liar = await RawUdp.open('127.0.0.7');
      liar.autoReply = (e) => {
        if (e.type === Hello.type) return helloAs(liarKeys, liar.address)(e);
        if (e.type === Propose.type) return { spec: Reject, body: { contractId: contractIdFromEncoded((e.body as { terms: Uint8Array }).terms), reason: RejectReason.NO_SPACE } };
        if (e.type === Cancel.type) return { spec: Cancelled, body: { contractId: (e.body as { contractId: Uint8Array }).contractId } };
        return undefined;
      };
    });
    after(async () => {
      await liar.close();
      await stopAll(peers);
    });

    it('is struck, declared a defaulter after the grace period, loses its contracts and is not asked again', async () => {
      const [owner, honest] = peers as [Peer, Peer];
      const liarHex = toHex(liarKeys.publicKey);
      // The liar gets the owner to keep 8 MiB for it: now it owes the owner storage.
      const taken = proposal(liarKeys, owner.publicKey, { size: 8 * MiB, nowSeconds: Math.floor(clock.now() / 1000) });
      expect(reasonOf(await liar.ask(Propose, { terms: taken.terms, ownerSignature: taken.ownerSignature }, owner.address))).to.equal('ACCEPT');

      const shard = () => ({ shardHash: randomBytes(32), shardSize: MiB, merkleRoot: randomBytes(32), replicas: 1, candidates: [liar.address, honest.address] });
      const placed = await owner.negotiate(shard());
      // The debtor was asked first and refused; the shard went to the honest peer instead.
      expect(placed.refusals.map((r) => r.reason)).to.deep.equal(['NO_SPACE']);
      expect(toHex(placed.contracts[0]!.counterpart)).to.equal(toHex(honest.publicKey));
      expect(owner.ledger().find((l) => l.counterpart === liarHex)!.strikes).to.equal(1);

      clock.advance(GRACE);
      await withClock(clock, owner.maintain());
      const standing = owner.ledger().find((l) => l.counterpart === liarHex)!;
      expect(standing.defaulterSince).to.not.equal(null);
      expect(owner.contracts().find((c) => c.id === toHex(taken.contract.id))!.state).to.equal('cancelled');
      expect(liar.ofType(Cancel)).to.have.length(1);

      // Its next proposal is refused, and the owner no longer asks it to keep anything.
      const again = proposal(liarKeys, owner.publicKey, { nowSeconds: Math.floor(clock.now() / 1000) });
      expect(reasonOf(await liar.ask(Propose, { terms: again.terms, ownerSignature: again.ownerSignature }, owner.address))).to.equal(RejectReason.DEFAULTER);
      const asked = liar.ofType(Propose).length;
      const later = await owner.negotiate(shard());
      expect(toHex(later.contracts[0]!.counterpart)).to.equal(toHex(honest.publicKey));
      expect(liar.ofType(Propose)).to.have.length(asked);
      expect(later.refusals.map((r) => r.reason)).to.deep.equal(['HOST_IS_DEFAULTER']);
    });
  });
});
