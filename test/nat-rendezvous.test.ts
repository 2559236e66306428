/**
 * Rendezvous and punching on real UDP over loopback (no NAT here: the NAT lab test,
 * test/nat-punch.test.ts, shows the punch opening real NATs). A rendezvous R on 127.0.1.1, a
 * registered peer B on 127.0.2.1, a requester A on 127.0.3.1 (three network prefixes). What is
 * checked here is the protocol and its abuse limits: registration needs a cookie from the
 * registrant's address, requests are passed on only for registered peers, an unproven requester
 * gets a cookie and nothing is sent for it, rate limits, notifies from strangers and PUNCHes
 * outside a session are ignored, and each refusal is counted.
 */
import { expect } from 'chai';
import { DhtNode } from '../src/dht/node.js';
import type { Address } from '../src/net/address.js';
import { PunchError } from '../src/nat/errors.js';
import { Punch, PunchAck, PunchNotify, PunchReady, PunchRequest, Register, Registered, RendezvousRefusal, TcpPunch, TcpPunchReady } from '../src/nat/punch-messages.js';
import { TcpPuncher } from '../src/nat/tcp-puncher.js';
import { Puncher } from '../src/nat/puncher.js';
import { Registrar } from '../src/nat/registrar.js';
import { RendezvousServer, type RendezvousServerInit } from '../src/nat/rendezvous-server.js';
import { RpcError } from '../src/rpc/rpc.js';
import { systemClock } from '../src/util/clock.js';
import { encodeMessage } from '../src/wire/codec.js';
import { closeAll, LOOPBACK, RawPeer, until } from './helpers/network.js';

const NONCE = new Uint8Array([8, 7, 6, 5, 4, 3, 2, 1]);
const FAST = { intervalMs: 50, retries: 10, requestTimeoutMs: 1000 };

describe('rendezvous and hole punching over loopback UDP', function () {
  this.timeout(20_000);
  const nodes: DhtNode[] = [];
  const raws: RawPeer[] = [];
  let r: DhtNode;
  let b: DhtNode;
  let a: DhtNode;
  let server: RendezvousServer;
  let registrar: Registrar;
  let punchB: Puncher;
  let punchA: Puncher;

  async function setUp(init: Partial<RendezvousServerInit> = {}): Promise<void> {
    r = await DhtNode.create({ ...LOOPBACK, host: '127.0.1.1' });
    b = await DhtNode.create({ ...LOOPBACK, host: '127.0.2.1', bootstrap: [r.address] });
    a = await DhtNode.create({ ...LOOPBACK, host: '127.0.3.1', bootstrap: [r.address] });
    nodes.push(r, b, a);
    server = new RendezvousServer({ rpc: r.rpc, clock: systemClock, reachable: () => true, isProven: (c) => r.isProven(c) }, init);
    registrar = new Registrar({ rpc: b.rpc, clock: systemClock });
    punchB = new Puncher({ rpc: b.rpc, clock: systemClock, isRendezvous: (x) => registrar.isRendezvous(x) }, FAST);
    punchA = new Puncher({ rpc: a.rpc, clock: systemClock, isRendezvous: () => false }, FAST);
  }

  async function raw(host: string): Promise<RawPeer> {
    const p = await RawPeer.open(host);
    raws.push(p);
    return p;
  }

  afterEach(async () => {
    await closeAll(nodes.splice(0));
    await Promise.all(raws.splice(0).map((p) => p.close()));
  });

  it('B registers (with the cookie of its first REGISTER); A punches to B through R', async () => {
    await setUp();
    await registrar.register(r.address);
    expect(registrar.current()).to.deep.equal([r.address]);
    expect(server.counters).to.deep.include({ cookiesSent: 1, registered: 1 });
    const result = await punchA.connect(b.address, [r.address]);
    expect(result.via).to.deep.equal(r.address);
    expect(server.counters.forwarded).to.equal(1);
    expect(punchB.counters.notified).to.equal(1);
    expect(punchA.counters.punched).to.equal(1);
    expect(punchA.punchedRecently(b.address)).to.equal(true);
    expect(punchB.punchedPaths().has(`127.0.3.1:${a.address.port}`)).to.equal(true);
    // A renewal carries the cookie: no new cookie round.
    await registrar.register(r.address);
    expect(server.counters).to.deep.include({ cookiesSent: 1, renewed: 1 });
  });

  it('a REGISTER without a valid cookie registers nothing', async () => {
    await setUp();
    const forger = await raw('127.0.4.1');
    forger.autoReply = () => undefined;
    await forger.send(encodeMessage(Register, new Uint8Array(8), forger.id, { cookie: new Uint8Array(16) }, { readOnly: true }), r.address);
    await forger.waitFor(1);
    const reply = forger.ofType(Registered)[0]!.body as { ok: boolean };
    expect(reply.ok).to.equal(false);
    expect(server.registrations).to.equal(0);
  });

  it('refuses and counts a punch request for a peer not registered with it, and sends that peer nothing', async () => {
    await setUp();
    const victim = await raw('127.0.5.5');
    const err = await punchA.connect(victim.address, [r.address]).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PunchError);
    expect((err as PunchError).code).to.equal('RENDEZVOUS_REFUSED');
    expect((err as Error).message).to.match(new RegExp(`code ${RendezvousRefusal.NOT_REGISTERED}`));
    expect(server.counters.refusedUnregistered).to.equal(1);
    await a.ping(r.address);
    expect(victim.received).to.have.length(0);
  });

  it('an unproven requester gets only a cookie: a forged source cannot make B punch toward a victim', async () => {
    await setUp();
    await registrar.register(r.address);
    // Not a contact of R: it never answered R's requests.
    const stranger = await raw('127.0.6.1');
    await stranger.send(encodeMessage(PunchRequest, new Uint8Array(8).fill(1), stranger.id, { target: b.address, nonce: NONCE }, { readOnly: true }), r.address);
    await stranger.waitFor(1);
    const ready = stranger.ofType(PunchReady)[0]!.body as { target?: Address; cookie?: Uint8Array };
    expect(ready.target).to.equal(undefined);
    expect(ready.cookie).to.have.length(16);
    expect(punchB.counters.notified).to.equal(0);
    // Sent back from the address it was issued to, the cookie works.
    await stranger.send(encodeMessage(PunchRequest, new Uint8Array(8).fill(2), stranger.id, { target: b.address, nonce: NONCE, cookie: ready.cookie! }, { readOnly: true }), r.address);
    // B is told and starts punching before R answers (R waits for B's PUNCH_NOTIFIED).
    await until(() => stranger.ofType(PunchReady).length === 2, 'the second PUNCH_READY');
    expect(stranger.ofType(Punch)).to.not.have.length(0);
    expect(stranger.ofType(PunchReady)[1]!.body).to.deep.equal({ target: b.address });
    expect(punchB.counters.notified).to.equal(1);
  });

  it('rate-limits punch requests per target, refusing and counting the excess', async () => {
    await setUp({ perTarget: { perSecond: 1 / 60, burst: 1 } });
    await registrar.register(r.address);
    await punchA.connect(b.address, [r.address]);
    const err = await punchA.connect(b.address, [r.address]).catch((e: unknown) => e);
    expect((err as PunchError).code).to.equal('RENDEZVOUS_REFUSED');
    expect((err as Error).message).to.match(new RegExp(`code ${RendezvousRefusal.RATE_LIMITED}`));
    expect(server.counters).to.deep.include({ forwarded: 1, refusedRate: 1 });
  });

  it('a target that stopped answering: TARGET_SILENT, counted', async () => {
    await setUp({ notifyTimeoutMs: 200 });
    await registrar.register(r.address);
    await b.close();
    const err = await punchA.connect(b.address, [r.address]).catch((e: unknown) => e);
    expect((err as Error).message).to.match(new RegExp(`code ${RendezvousRefusal.TARGET_SILENT}`));
    expect(server.counters.targetSilent).to.equal(1);
  });

  it('B ignores a PUNCH_NOTIFY from anyone but its rendezvous, and answers no PUNCH outside a session', async () => {
    await setUp();
    const stranger = await raw('127.0.7.1');
    const victim = await raw('127.0.8.8');
    await stranger.send(encodeMessage(PunchNotify, new Uint8Array(8), stranger.id, { peer: victim.address, nonce: NONCE }), b.address);
    await stranger.send(encodeMessage(Punch, new Uint8Array(8).fill(3), stranger.id, { nonce: NONCE }), b.address);
    await a.ping(b.address);
    expect(punchB.counters).to.deep.include({ ignoredNotifies: 1, unexpectedPunches: 1, notified: 0 });
    // (B may PING the stranger to verify it as a contact; it sends it nothing of punching.)
    expect(stranger.ofType(PunchAck)).to.have.length(0);
    expect(victim.received).to.have.length(0);
  });

  it('TCP_PUNCH from a peer with no punched path is refused and counted; nobody is dialled', async () => {
    await setUp();
    const tcpB = new TcpPuncher({ rpc: b.rpc, clock: systemClock, punchedRecently: (x) => punchB.punchedRecently(x), accept: (s) => s.destroy() });
    const err = await a.rpc.request(b.address, TcpPunch, { nonce: NONCE, port: 40_000 }, TcpPunchReady).catch((e: unknown) => e);
    expect((err as RpcError).remoteCode).to.equal(RendezvousRefusal.TCP_PUNCH_REFUSED);
    expect(tcpB.counters).to.deep.equal({ opened: 0, accepted: 0, failed: 0, refused: 1 });
  });

  it('a peer that names no rendezvous cannot be punched to (typed error)', async () => {
    await setUp();
    const err = await punchA.connect(b.address, []).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PunchError);
    expect((err as PunchError).code).to.equal('NO_RENDEZVOUS');
  });

  it('a peer that is not reachable itself refuses to be a rendezvous', async () => {
    await setUp();
    const lone = await DhtNode.create({ ...LOOPBACK, host: '127.0.9.1', bootstrap: [r.address] });
    nodes.push(lone);
    const refusing = new RendezvousServer({ rpc: lone.rpc, clock: systemClock, reachable: () => false, isProven: () => true });
    const err = await registrar.register(lone.address).catch((e: unknown) => e);
    expect((err as RpcError).remoteCode).to.equal(RendezvousRefusal.NOT_RENDEZVOUS);
    expect(refusing.counters.refusedNotRendezvous).to.equal(1);
    expect(registrar.current()).to.deep.equal([]);
  });
});
