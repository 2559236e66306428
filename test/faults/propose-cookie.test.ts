/**
 * A forged-source PROPOSE (issue 19, left open in docs/security.md): a proposal from an address
 * that has not proven it receives there reserves nothing; the host answers with a cookie that
 * only the real holder of the address sees, and accepts the proposal sent back with it.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Peer } from '../../src/peer/peer.js';
import { ProposalCookies } from '../../src/contracts/address-cookies.js';
import { encodeTerms, propose } from '../../src/contracts/contract.js';
import { Propose, Reject } from '../../src/contracts/messages.js';
import { RejectReason } from '../../src/contracts/policy.js';
import { generateSigningKeyPair, type SigningKeyPair } from '../../src/crypto/ed25519.js';
import { ManualClock } from '../../src/util/clock.js';
import { RawUdp } from '../helpers/liars.js';
import { GiB, MiB, peerOptions, startPeers, stopAll } from '../helpers/peers.js';

function proposal(owner: SigningKeyPair, host: Uint8Array): { terms: Uint8Array; ownerSignature: Uint8Array } {
  const c = propose(owner, {
    host,
    shardHash: randomBytes(32),
    shardSize: 8 * MiB,
    merkleRoot: randomBytes(32),
    durationSeconds: 86_400,
    auditIntervalSeconds: 3600,
    auditSamples: 8,
    ownerOffer: GiB,
    nowSeconds: Math.floor(Date.now() / 1000),
  });
  return { terms: encodeTerms(c.terms), ownerSignature: c.ownerSignature };
}

describe('faults: forged-source proposals and the address cookie', function () {
  this.timeout(60_000);

  it('a cookie is good for its address and proposal only, for one to two minutes (pure)', () => {
    const clock = new ManualClock();
    const cookies = new ProposalCookies(clock);
    const a = { host: '192.0.2.1', port: 4000 };
    const id = randomBytes(32);
    const cookie = cookies.issue(a, id);
    expect(cookies.check(a, id, cookie)).to.equal(true);
    expect(cookies.check({ ...a, port: 4001 }, id, cookie)).to.equal(false);
    expect(cookies.check(a, randomBytes(32), cookie)).to.equal(false);
    expect(cookies.check(a, id, undefined)).to.equal(false);
    clock.advance(60_000);
    expect(cookies.check(a, id, cookie)).to.equal(true);
    clock.advance(60_000);
    expect(cookies.check(a, id, cookie)).to.equal(false);
  });

  describe('on real UDP', () => {
    let peers: Peer[] = [];
    const raws: RawUdp[] = [];
    after(async () => {
      for (const r of raws) await r.close();
      await stopAll(peers);
    });

    it('reserves nothing for an unproven source, refuses wrong or borrowed cookies, accepts the right one', async () => {
      peers = await startPeers(1);
      const host = peers[0]!;
      const attacker = generateSigningKeyPair();
      const spoofed = await RawUdp.open('127.0.4.1');
      const other = await RawUdp.open('127.0.4.2');
      raws.push(spoofed, other);
      const freeBefore = host.status().storage.free;

      // What a blind spoofer achieves: a refusal (with a cookie it never sees), nothing reserved.
      const p = proposal(attacker, host.publicKey);
      const first = await spoofed.askOnce(Propose, p, host.address);
      expect(first.type).to.equal(Reject.type);
      const { reason, cookie } = first.body as { reason: number; cookie?: Uint8Array };
      expect(reason).to.equal(RejectReason.ADDRESS_UNPROVEN);
      expect(cookie).to.have.length(16);
      const guessed = await spoofed.askOnce(Propose, { ...p, cookie: randomBytes(16) }, host.address);
      expect((guessed.body as { reason: number }).reason).to.equal(RejectReason.ADDRESS_UNPROVEN);
      // A cookie seen by someone at another address is worth nothing there.
      const borrowed = await other.askOnce(Propose, { ...p, cookie: cookie! }, host.address);
      expect((borrowed.body as { reason: number }).reason).to.equal(RejectReason.ADDRESS_UNPROVEN);
      expect(host.contracts()).to.deep.equal([]);
      expect(host.status().storage.free).to.equal(freeBefore);
      expect(host.contractService.host.counters.rejected.ADDRESS_UNPROVEN).to.equal(3);

      // Whoever really receives at the address sends it back and is accepted.
      const proven = await spoofed.askOnce(Propose, { ...p, cookie: cookie! }, host.address);
      expect(proven.spec.name).to.equal('CONTRACT_ACCEPT');
      expect(host.contracts()).to.have.length(1);
    });

    it('an honest owner the host has never heard of gets its contract (one extra round trip at most)', async () => {
      const host = peers[0]!;
      // Not bootstrapped through the host: the host does not know it.
      const stranger = await Peer.start(peerOptions());
      peers.push(stranger);
      const n = await stranger.negotiate({ shardHash: new Uint8Array(randomBytes(32)), shardSize: MiB, merkleRoot: new Uint8Array(32), replicas: 1, candidates: [host.address] });
      expect(n.contracts).to.have.length(1);
    });
  });
});
