/**
 * The pure parts of hole punching: the rendezvous's registration table, the punch sessions a peer
 * answers PUNCH within, the messages' codecs (bad input refused), and the peer record's
 * rendezvous field `r`.
 */
import { expect } from 'chai';
import { Registrations } from '../src/nat/registrations.js';
import { PunchSessions } from '../src/nat/punch-sessions.js';
import { Punch, PunchNotify, PunchReady, PunchRequest, Register, Registered } from '../src/nat/punch-messages.js';
import { decodeMessage, encodeMessage, type MessageSpec } from '../src/wire/codec.js';
import { MalformedMessageError } from '../src/wire/fields.js';
import { decodePeerRecord, encodePeerRecord, MAX_RECORD_RENDEZVOUS } from '../src/peer/peer-record.js';
import { Packr } from 'msgpackr';
import { peerReach } from '../src/nat/peer-reach.js';
import { renderReach } from '../src/cli/render.js';
import { FRIENDS_CACHE_MS, friendAddresses, parseFriends } from '../src/peer/friends.js';
import { ManualClock } from '../src/util/clock.js';
import { nodeIdFromAddress } from '../src/net/node-id.js';
import { toHex } from '../src/util/bytes.js';

const A = { host: '198.51.100.101', port: 7000 };
const B = { host: '198.51.100.102', port: 7000 };
const TXID = new Uint8Array(8);
const ID = new Uint8Array(20);
const NONCE = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
const COOKIE = new Uint8Array(16).fill(9);

function roundTrip<B>(spec: MessageSpec<B>, body: B): unknown {
  return decodeMessage(encodeMessage(spec, TXID, ID, body)).body;
}

describe('Registrations: who a rendezvous passes punch requests on to', () => {
  it('holds a registration for its lifetime, renewed by each REGISTER', () => {
    const r = new Registrations({ ttlMs: 1000, maxEntries: 4 });
    expect(r.register(A, 0)).to.equal('registered');
    expect(r.has(A, 999)).to.equal(true);
    expect(r.register(A, 900)).to.equal('renewed');
    expect(r.has(A, 1500)).to.equal(true);
    expect(r.has(A, 1900)).to.equal(false);
    expect(r.has(B, 0)).to.equal(false);
  });

  it('is bounded: a full table refuses newcomers, renewals still pass, lapsed entries make room', () => {
    const r = new Registrations({ ttlMs: 1000, maxEntries: 2 });
    r.register(A, 0);
    r.register(B, 10);
    expect(r.register({ host: '192.0.2.1', port: 1 }, 20)).to.equal('full');
    expect(r.register(A, 30)).to.equal('renewed');
    expect(r.count(40)).to.equal(2);
    // B lapses at 1010: a newcomer then finds room.
    expect(r.register({ host: '192.0.2.1', port: 1 }, 1020)).to.equal('registered');
    expect(r.has(B, 1020)).to.equal(false);
  });
});

describe('PunchSessions: a PUNCH is answered only within a session of ours', () => {
  it('matches the nonce and the exact address, until the session ends', () => {
    const s = new PunchSessions({ sessionMs: 1000, maxSessions: 4 });
    expect(s.open(NONCE, A, 0)).to.equal(true);
    expect(s.arrived(new Uint8Array(8), A, 10)).to.equal(false);
    expect(s.arrived(NONCE, { ...A, port: 7001 }, 10)).to.equal(false);
    expect(s.arrived(NONCE, B, 10)).to.equal(false);
    expect(s.punched(NONCE)).to.equal(false);
    expect(s.arrived(NONCE, A, 10)).to.equal(true);
    expect(s.punched(NONCE)).to.equal(true);
    expect(s.arrived(NONCE, A, 1000)).to.equal(false);
  });

  it('is bounded in number, and refuses a nonce already in use', () => {
    const s = new PunchSessions({ sessionMs: 1000, maxSessions: 2 });
    expect(s.open(NONCE, A, 0)).to.equal(true);
    expect(s.open(NONCE, B, 0)).to.equal(false);
    expect(s.open(new Uint8Array(8).fill(2), B, 0)).to.equal(true);
    expect(s.open(new Uint8Array(8).fill(3), B, 0)).to.equal(false);
    // Sessions that ended make room.
    expect(s.open(new Uint8Array(8).fill(3), B, 1000)).to.equal(true);
    expect(s.size).to.equal(1);
  });
});

describe('rendezvous and punch messages', () => {
  it('round-trip', () => {
    expect(roundTrip(Register, {})).to.deep.equal({});
    expect(roundTrip(Register, { cookie: COOKIE })).to.deep.equal({ cookie: COOKIE });
    expect(roundTrip(Registered, { ok: true, ttlMs: 60_000, cookie: COOKIE })).to.deep.equal({ ok: true, ttlMs: 60_000, cookie: COOKIE });
    expect(roundTrip(PunchRequest, { target: B, nonce: NONCE })).to.deep.equal({ target: B, nonce: NONCE });
    expect(roundTrip(PunchReady, { cookie: COOKIE })).to.deep.equal({ cookie: COOKIE });
    expect(roundTrip(PunchReady, { target: B })).to.deep.equal({ target: B });
    const v6 = { host: '2001:db8::1', port: 9 };
    expect(roundTrip(PunchNotify, { peer: v6, nonce: NONCE })).to.deep.equal({ peer: v6, nonce: NONCE });
    expect(roundTrip(Punch, { nonce: NONCE })).to.deep.equal({ nonce: NONCE });
  });

  it('refuse bad nonces, bad cookies and unusable addresses', () => {
    const bad = [
      () => encodeMessage(Punch, TXID, ID, { nonce: new Uint8Array(7) }),
      () => encodeMessage(Register, TXID, ID, { cookie: new Uint8Array(15) }),
      () => encodeMessage(PunchRequest, TXID, ID, { target: { host: '0.0.0.0', port: 7000 }, nonce: NONCE }),
      () => encodeMessage(PunchRequest, TXID, ID, { target: { host: '198.51.100.1', port: 0 }, nonce: NONCE }),
      () => encodeMessage(PunchNotify, TXID, ID, { peer: { host: 'example.org', port: 1 }, nonce: NONCE }),
    ];
    for (const make of bad) expect(() => decodeMessage(make())).to.throw(MalformedMessageError);
  });
});

describe('peer record: the rendezvous field r', () => {
  const base = { host: '198.51.100.102', port: 7000, offered: 1, free: 1, publishedAt: 5 };

  it('names up to three rendezvous, and is absent for a reachable peer', () => {
    const rendezvous = [{ host: '203.0.113.1', port: 7000 }, { host: '2001:db8::2', port: 7001 }];
    expect(decodePeerRecord(encodePeerRecord({ ...base, rendezvous }))).to.deep.equal({ ...base, rendezvous });
    expect(decodePeerRecord(encodePeerRecord(base))).to.deep.equal(base);
    expect(encodePeerRecord({ ...base, rendezvous: [] })).to.deep.equal(encodePeerRecord(base));
  });

  it('a record with a bad r is not a record', () => {
    const packr = new Packr({ useRecords: false, variableMapSize: true });
    const raw = { h: base.host, p: base.port, o: 1, f: 1, t: 5 };
    const many = Array.from({ length: MAX_RECORD_RENDEZVOUS + 1 }, (_, i) => `203.0.113.${i + 1}|7000`);
    for (const r of [many, ['203.0.113.1'], ['host.example|7000'], ['203.0.113.1|0'], ['203.0.113.1|70000'], 'x', [7]]) {
      expect(decodePeerRecord(packr.pack({ ...raw, r }))).to.equal(null);
    }
  });
});

describe('peerReach: how each peer is reached, for dbs peers', () => {
  it('lists contacts as direct (marking our rendezvous), fresh punched paths, and peers to punch to', () => {
    const R = { host: '203.0.113.1', port: 7000 };
    const C = { host: '192.0.2.9', port: 7000 };
    const contact = (a: { host: string; port: number }) => ({ ...a, id: nodeIdFromAddress(a) });
    const rows = peerReach({
      contacts: [contact(R), contact(C)],
      rendezvous: ['203.0.113.1:7000'],
      punched: new Map([['198.51.100.101:7000', 1000], ['198.51.100.103:7000', 0]]),
      toPunch: new Map([['198.51.100.102:7000', [R]], ['198.51.100.101:7000', [R]]]),
      now: 26_000,
      freshMs: 25_500,
    });
    expect(rows.map((r) => [r.address, r.reach, r.how])).to.deep.equal([
      ['198.51.100.101:7000', 'punched', 'punched 25 s ago'],
      ['203.0.113.1:7000', 'direct', 'direct, our rendezvous'],
      ['192.0.2.9:7000', 'direct', 'direct'],
      ['198.51.100.102:7000', 'punch', 'punch via 203.0.113.1:7000'],
    ]);
    expect(rows[0]!.nodeId).to.equal(toHex(nodeIdFromAddress(A)));
  });
});

describe('dbs status: a client-only peer says through which rendezvous it can be punched to', () => {
  it('lists them after the checks', () => {
    const base = { reach: 'client-only', address: '198.51.100.102:7000', addressSource: 'observed', udp: 'unreachable', tcp: 'unreachable', nat: 'consistent', observers: 3, mapping: null, reason: 'dial-backs from strangers did not get through' } as const;
    expect(renderReach({ ...base, registeredWith: ['203.0.113.1:7000', '192.0.2.1:7000'] })).to.equal(
      'client only: dial-backs from strangers did not get through (address 198.51.100.102:7000; UDP unreachable, TCP unreachable; punchable through 203.0.113.1:7000, 192.0.2.1:7000)',
    );
    expect(renderReach({ ...base, registeredWith: [] })).to.not.match(/punchable/);
  });
});

describe('friends: hosts named by key', () => {
  const key = new Uint8Array(32).fill(7);

  it('parses hex public keys and names a bad one', () => {
    expect(parseFriends(['07'.repeat(32)])).to.deep.equal([key]);
    expect(() => parseFriends(['07'.repeat(31)])).to.throw(/friend "0707.*" is not a public key/);
  });

  it('offers only friends that answered HELLO with their key, looked up at most once a minute', async () => {
    const clock = new ManualClock(0);
    let lookups = 0;
    let verified = true;
    const find = async () => {
      lookups++;
      return { host: '198.51.100.102', port: 7000, offered: 1, free: 1, publishedAt: 0, verified };
    };
    const friends = friendAddresses([key], find, clock);
    expect(await friends()).to.deep.equal([{ host: '198.51.100.102', port: 7000 }]);
    await friends();
    expect(lookups).to.equal(1);
    clock.advance(FRIENDS_CACHE_MS);
    verified = false;
    expect(await friends()).to.deep.equal([]);
    // Nobody found: the next placement asks again at once.
    await friends();
    expect(lookups).to.equal(3);
    expect(await friendAddresses([], find, clock)()).to.deep.equal([]);
  });
});
