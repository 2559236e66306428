import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { generateSigningKeyPair } from '../src/crypto/ed25519.js';
import {
  type Contract,
  contractId,
  decodeTerms,
  encodeTerms,
  propose,
  type PieceTerms,
  type ProposalParams,
  signAsHost,
  signAsOwner,
  verifyContract,
} from '../src/contracts/contract.js';
import { ContractHost } from '../src/contracts/host.js';
import { pieceSizeFor } from '../src/erasure/layout.js';
import { Packr, Unpackr } from 'msgpackr';
import { Accept, Reject } from '../src/contracts/messages.js';
import { decideProposal, evaluateStanding, GOOD_STANDING, networkPrefix, recordHonoured, recordStrike, RejectReason } from '../src/contracts/policy.js';
import { ContractStore } from '../src/contracts/store.js';
import { openDatabase } from '../src/storage/database.js';
import { ManualClock } from '../src/util/clock.js';
import { contactFromAddress } from '../src/net/node-id.js';

const MiB = 2 ** 20;
const owner = generateSigningKeyPair();
const host = generateSigningKeyPair();
const NOW = 1_800_000_000;

function params(over: Partial<ProposalParams> = {}): ProposalParams {
  return {
    host: host.publicKey,
    shardHash: randomBytes(32),
    shardSize: 10 * MiB,
    merkleRoot: randomBytes(32),
    durationSeconds: 86_400,
    auditIntervalSeconds: 3600,
    auditSamples: 8,
    ownerOffer: 1024 * MiB,
    nowSeconds: NOW,
    ...over,
  };
}

function countersigned(c: Contract): Contract {
  return { ...c, hostSignature: signAsHost(host, c.id) };
}

describe('contracts (pure)', function () {
  this.timeout(5000);

  it('encodes terms canonically and derives the ID from them', () => {
    const c = propose(owner, params());
    const bytes = encodeTerms(c.terms);
    expect(Buffer.from(encodeTerms(decodeTerms(bytes))).equals(bytes)).to.equal(true);
    expect(Buffer.from(contractId(decodeTerms(bytes))).equals(c.id)).to.equal(true);
    expect(bytes.length).to.be.lessThan(400);
    // A non-canonical encoding of the same values (a map instead of an array) is refused.
    expect(() => decodeTerms(Buffer.from([0x80]))).to.throw(/shape/);
    expect(() => decodeTerms(Buffer.from([0xc1]))).to.throw();
  });

  it('verifies a genuine contract, before and after the host countersigns', () => {
    const c = propose(owner, params());
    expect(verifyContract(c, NOW, false)).to.equal(null);
    expect(verifyContract(c, NOW, true)).to.equal('MISSING_HOST_SIGNATURE');
    expect(verifyContract(countersigned(c), NOW, true)).to.equal(null);
  });

  it('refuses every tampered field', () => {
    const c = countersigned(propose(owner, params()));
    const tamper: Record<string, unknown> = {
      owner: generateSigningKeyPair().publicKey,
      host: generateSigningKeyPair().publicKey,
      shardHash: randomBytes(32),
      shardSize: c.terms.shardSize + 1,
      merkleRoot: randomBytes(32),
      createdAt: c.terms.createdAt - 1,
      expiresAt: c.terms.expiresAt + 1,
      auditIntervalSeconds: 1,
      auditSamples: 1,
      ownerOffer: 5,
      nonce: randomBytes(8),
    };
    for (const [field, value] of Object.entries(tamper)) {
      const terms = { ...c.terms, [field]: value };
      // Whether the ID is recomputed or kept, the signatures no longer match.
      expect(verifyContract({ ...c, terms }, NOW, true), `${field} (stale id)`).to.equal('ID_MISMATCH');
      expect(verifyContract({ ...c, terms, id: contractId(terms) }, NOW, true), field).to.equal('BAD_OWNER_SIGNATURE');
    }
  });

  it('refuses a wrong key, swapped signatures, expired and future contracts', () => {
    const c = countersigned(propose(owner, params()));
    const stranger = generateSigningKeyPair();
    expect(verifyContract({ ...c, ownerSignature: signAsOwner(stranger, c.id) }, NOW, true)).to.equal('BAD_OWNER_SIGNATURE');
    expect(verifyContract({ ...c, hostSignature: signAsHost(stranger, c.id) }, NOW, true)).to.equal('BAD_HOST_SIGNATURE');
    expect(verifyContract({ ...c, ownerSignature: c.hostSignature!, hostSignature: c.ownerSignature }, NOW, true)).to.equal('BAD_OWNER_SIGNATURE');
    // The host's key signing as owner is not a host signature either (role tags differ).
    expect(verifyContract({ ...c, hostSignature: signAsOwner(host, c.id) }, NOW, true)).to.equal('BAD_HOST_SIGNATURE');
    expect(verifyContract(c, c.terms.expiresAt, true)).to.equal('EXPIRED');
    expect(verifyContract(c, NOW - 3600, true)).to.equal('NOT_YET_VALID');
    expect(() => propose(owner, params({ host: owner.publicKey }))).to.throw(/differ/);
    expect(() => propose(owner, params({ durationSeconds: 0 }))).to.throw(/duration/);
  });
});

describe('piece contracts (erasure-coded shards)', function () {
  this.timeout(5000);
  const shardSize = 10 * MiB + 5;
  const piece: PieceTerms = { shard: randomBytes(32), shardSize, index: 3, k: 2, n: 4 };
  const pieceParams = (over: Partial<ProposalParams> = {}) => params({ shardSize: pieceSizeFor(shardSize, 2), piece, ...over });

  it('encodes whole-shard terms exactly as before: twelve fields, no piece element', () => {
    const c = propose(owner, params());
    const raw = new Unpackr({ useRecords: false }).unpack(encodeTerms(c.terms)) as unknown[];
    expect(raw).to.have.length(12);
    expect(decodeTerms(encodeTerms(c.terms)).piece).to.equal(undefined);
  });

  it('round-trips piece terms, binds them into the ID and the signatures, and keeps them in the store', () => {
    const c = countersigned(propose(owner, pieceParams()));
    expect(verifyContract(c, NOW, true)).to.equal(null);
    const bytes = encodeTerms(c.terms);
    const back = decodeTerms(bytes);
    expect(back.piece).to.deep.equal({ ...piece, shard: back.piece!.shard });
    expect(Buffer.from(back.piece!.shard).equals(piece.shard)).to.equal(true);
    expect(Buffer.from(contractId(back)).equals(c.id)).to.equal(true);
    expect(bytes.length).to.be.lessThan(400); // fits CONTRACT_PROPOSE's terms field
    // Another k gives another piece size: refused as malformed before any signature is checked.
    expect(verifyContract({ ...c, terms: { ...c.terms, piece: { ...piece, k: 3, n: 5 } } }, NOW, true)).to.equal('BAD_TERMS');
    for (const field of ['index', 'n', 'shard'] as const) {
      const tampered = { ...piece, [field]: field === 'shard' ? randomBytes(32) : field === 'n' ? 5 : piece[field] - 1 };
      const terms = { ...c.terms, piece: tampered };
      expect(verifyContract({ ...c, terms }, NOW, true), field).to.equal('ID_MISMATCH');
      expect(verifyContract({ ...c, terms, id: contractId(terms) }, NOW, true), field).to.equal('BAD_OWNER_SIGNATURE');
    }
    // Dropping the piece element is a different contract too.
    const { piece: _dropped, ...whole } = c.terms;
    expect(verifyContract({ ...c, terms: whole }, NOW, true)).to.equal('ID_MISMATCH');
    const store = new ContractStore(openDatabase(':memory:'));
    store.insert({ contract: c, role: 'owner', counterpartAddress: null, state: 'active', reservedUntil: null, now: NOW * 1000 });
    expect(store.get(c.id)!.contract.terms.piece!.index).to.equal(3);
  });

  it('refuses piece terms that do not add up', () => {
    const bad: [string, Partial<PieceTerms>, Partial<ProposalParams>][] = [
      ['index past n', { index: 4 }, {}],
      ['k of 1 (a whole copy, which plain terms say)', { k: 1, n: 3, index: 0 }, { shardSize: pieceSizeFor(shardSize, 1) }],
      ['n below k', { k: 3, n: 2, index: 0 }, {}],
      ['too much parity', { k: 2, n: 9 }, {}],
      ['a piece size the layout does not give', {}, { shardSize: pieceSizeFor(shardSize, 2) + 8 }],
      ['a short shard ID', { shard: randomBytes(31) }, {}],
      ['a shard over 4 GiB', { shardSize: 5 * 2 ** 30 }, { shardSize: pieceSizeFor(5 * 2 ** 30, 2) }],
    ];
    for (const [why, over, paramsOver] of bad) {
      expect(() => propose(owner, pieceParams({ piece: { ...piece, ...over }, ...paramsOver })), why).to.throw(/cannot propose: piece/);
    }
    // A terms array with a malformed piece element is refused by the decoder.
    const c = propose(owner, pieceParams());
    const raw = new Unpackr({ useRecords: false }).unpack(encodeTerms(c.terms)) as unknown[];
    raw[12] = [piece.shard, shardSize, 3, 2];
    expect(() => decodeTerms(new Packr({ useRecords: false }).pack(raw))).to.throw(/piece terms have the wrong shape/);
    raw.push('extra');
    expect(() => decodeTerms(new Packr({ useRecords: false }).pack(raw))).to.throw(/wrong shape/);
  });

  it('a host accepts a piece contract like any other, charging the piece size', () => {
    const clock = new ManualClock(NOW * 1000);
    const store = new ContractStore(openDatabase(':memory:'));
    const h = new ContractHost(store, host, clock, { offered: 100 * MiB, allowance: 64 * MiB, uploadTimeoutMs: 60_000, proposalMaxAgeSeconds: 600 });
    const c = propose(owner, pieceParams());
    const answer = h.onPropose({ terms: encodeTerms(c.terms), ownerSignature: c.ownerSignature }, contactFromAddress({ host: '10.0.0.7', port: 4000 }));
    expect(answer.spec).to.equal(Accept);
    expect(h.freeBytes()).to.equal(100 * MiB - pieceSizeFor(shardSize, 2));
  });
});

describe('reciprocity policy (pure)', function () {
  this.timeout(5000);
  const base = { size: 10 * MiB, ownerOffer: 100 * MiB, ownerIsDefaulter: false, freeBytes: 1000 * MiB, diskBytes: Infinity, balance: { keptForThem: 0, keptByThem: 0 }, prefixDebtOfOthers: 0, allowance: 64 * MiB };

  it('accepts within the allowance and refuses beyond it, unless the proposer gave back', () => {
    expect(decideProposal(base)).to.equal(null);
    expect(decideProposal({ ...base, balance: { keptForThem: 60 * MiB, keptByThem: 0 } })).to.equal('UNBALANCED');
    expect(decideProposal({ ...base, balance: { keptForThem: 60 * MiB, keptByThem: 50 * MiB } })).to.equal(null);
    expect(decideProposal({ ...base, balance: { keptForThem: 500 * MiB, keptByThem: 600 * MiB } })).to.equal(null);
  });

  it('refuses peers that offer nothing, defaulters, and what does not fit', () => {
    expect(decideProposal({ ...base, ownerOffer: 0 })).to.equal('NO_STORAGE_OFFERED');
    expect(decideProposal({ ...base, ownerIsDefaulter: true })).to.equal('DEFAULTER');
    expect(decideProposal({ ...base, freeBytes: 5 * MiB })).to.equal('NO_SPACE');
    // The offer has room but the disk has not: the owner is told the host's disk is full.
    expect(decideProposal({ ...base, diskBytes: 5 * MiB })).to.equal('DISK_FULL');
  });

  it('shares one allowance among all keys of a network prefix', () => {
    expect(decideProposal({ ...base, prefixDebtOfOthers: 50 * MiB })).to.equal(null);
    expect(decideProposal({ ...base, prefixDebtOfOthers: 55 * MiB })).to.equal('UNBALANCED');
    expect(networkPrefix('10.1.2.3')).to.equal(networkPrefix('10.1.2.250'));
    expect(networkPrefix('10.1.2.3')).not.to.equal(networkPrefix('10.1.3.3'));
    expect(networkPrefix('2001:db8:1:2::1')).to.equal(networkPrefix('2001:db8:1:ffff::9'));
    expect(networkPrefix('2001:db8::1')).to.equal('2001:db8:0::/48');
  });

  it('declares a defaulter only after strikes outlast the grace period, and forgives an honoured peer', () => {
    let s = recordStrike(GOOD_STANDING, 1000);
    s = recordStrike(s, 5000);
    expect(s.strikeSince).to.equal(1000);
    expect(evaluateStanding(s, 1000 + 9999, 10_000).defaulterSince).to.equal(null);
    expect(evaluateStanding(s, 1000 + 10_000, 10_000).defaulterSince).to.equal(11_000);
    const forgiven = recordHonoured(s);
    expect(evaluateStanding(forgiven, 100_000, 10_000).defaulterSince).to.equal(null);
    const defaulter = evaluateStanding(s, 20_000, 10_000);
    expect(recordHonoured(defaulter).defaulterSince).to.equal(20_000);
  });
});

describe('contract host (SQLite in memory, no sockets)', function () {
  this.timeout(5000);
  const clock = new ManualClock(NOW * 1000);
  const from = contactFromAddress({ host: '10.0.0.7', port: 4000 });
  let store: ContractStore;
  let h: ContractHost;
  beforeEach(() => {
    store = new ContractStore(openDatabase(':memory:'));
    h = new ContractHost(store, host, clock, { offered: 100 * MiB, allowance: 64 * MiB, uploadTimeoutMs: 60_000, proposalMaxAgeSeconds: 600 });
  });
  const send = (c: Contract) => h.onPropose({ terms: encodeTerms(c.terms), ownerSignature: c.ownerSignature }, from);
  const nowParams = (over: Partial<ProposalParams> = {}) => params({ nowSeconds: Math.floor(clock.now() / 1000), ...over });

  it('answers a retransmitted proposal with the same acceptance and reserves once', () => {
    const c = propose(owner, nowParams());
    const first = send(c);
    const again = send(c);
    expect(first.spec).to.equal(Accept);
    expect(again.spec).to.equal(Accept);
    expect(Buffer.from((again.body as { hostSignature: Uint8Array }).hostSignature).equals((first.body as { hostSignature: Uint8Array }).hostSignature)).to.equal(true);
    expect(h.freeBytes()).to.equal(90 * MiB);
    expect(store.list()).to.have.length(1);
    expect(verifyContract({ ...c, hostSignature: (first.body as { hostSignature: Uint8Array }).hostSignature }, NOW, true)).to.equal(null);
  });

  it('refuses replayed, expired, forged and misaddressed proposals', () => {
    const c = propose(owner, nowParams());
    send(c);
    store.transition(c.id, ['pending'], 'cancelled', clock.now());
    const reason = (r: ReturnType<typeof send>) => (r.spec === Reject ? (r.body as { reason: number }).reason : 0);
    expect(reason(send(c))).to.equal(RejectReason.REPLAYED);
    expect(reason(send(propose(owner, nowParams({ nowSeconds: Math.floor(clock.now() / 1000) - 601 }))))).to.equal(RejectReason.EXPIRED);
    const forged = propose(owner, nowParams());
    expect(reason(send({ ...forged, ownerSignature: signAsOwner(generateSigningKeyPair(), forged.id) }))).to.equal(RejectReason.BAD_SIGNATURE);
    expect(reason(send(propose(owner, nowParams({ host: generateSigningKeyPair().publicKey }))))).to.equal(RejectReason.NOT_FOR_ME);
    expect(reason(h.onPropose({ terms: randomBytes(50), ownerSignature: randomBytes(64) }, from))).to.equal(RejectReason.BAD_TERMS);
    expect(reason(send(propose(owner, nowParams({ ownerOffer: 0 }))))).to.equal(RejectReason.NO_STORAGE_OFFERED);
    expect(reason(send(propose(owner, nowParams({ shardSize: 101 * MiB }))))).to.equal(RejectReason.NO_SPACE);
  });

  it('keeps charging a key to the prefix it took credit from, even after it moves', () => {
    const home = contactFromAddress({ host: '10.0.0.7', port: 4000 });
    const away = contactFromAddress({ host: '10.9.9.9', port: 4000 });
    const mover = generateSigningKeyPair();
    const at = (keys: typeof mover, from: typeof home, size: number) => {
      const c = propose(keys, nowParams({ shardSize: size }));
      return h.onPropose({ terms: encodeTerms(c.terms), ownerSignature: c.ownerSignature }, from).spec === Accept ? 'ACCEPT' : 'REJECT';
    };
    expect(at(mover, home, 30 * MiB)).to.equal('ACCEPT');
    expect(at(mover, away, 10 * MiB)).to.equal('ACCEPT');
    // The mover's 40 MiB of debt still weighs on its home network's 64 MiB allowance.
    expect(at(generateSigningKeyPair(), home, 30 * MiB)).to.equal('REJECT');
    expect(at(generateSigningKeyPair(), home, 20 * MiB)).to.equal('ACCEPT');
  });

  it('does not let many keys on one machine multiply the allowance', () => {
    const reasons = Array.from({ length: 5 }, () => {
      const sybil = generateSigningKeyPair();
      const r = send(propose(sybil, nowParams({ shardSize: 30 * MiB })));
      return r.spec === Accept ? 'ACCEPT' : (r.body as { reason: number }).reason;
    });
    // 64 MiB of credit for the whole prefix: two 30 MiB shards fit, the third would not.
    expect(reasons).to.deep.equal(['ACCEPT', 'ACCEPT', RejectReason.UNBALANCED, RejectReason.UNBALANCED, RejectReason.UNBALANCED]);
    // A key from another network still gets its own credit.
    const otherNet = generateSigningKeyPair();
    const ok = propose(otherNet, nowParams({ shardSize: 30 * MiB }));
    expect(h.onPropose({ terms: encodeTerms(ok.terms), ownerSignature: ok.ownerSignature }, contactFromAddress({ host: '10.9.9.9', port: 1 })).spec).to.equal(Accept);
  });
});
