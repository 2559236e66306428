/**
 * Reachability checks on real UDP and TCP over loopback: dial-backs come from ports the requester
 * never sent to, go only to the requester's own host, and are rate-limited. Probers on 127.0.1.1
 * and 127.0.2.1 are two network prefixes (/24s); the requester is on 127.0.0.1. Whether a NAT
 * drops the dial-back is tested in the NAT lab (test/nat-traversal.test.ts).
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { DhtNode } from '../src/dht/node.js';
import { NatService } from '../src/nat/nat-service.js';
import { DialBack, DialBackRefusal, DialBackResult, DialProbe } from '../src/nat/messages.js';
import { RpcError } from '../src/rpc/rpc.js';
import { decodeMessage, encodeMessage } from '../src/wire/codec.js';
import { closeAll, LOOPBACK, RawPeer } from './helpers/network.js';

async function tcpListener(host: string, port: number): Promise<net.Server> {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return server;
}

describe('reachability: dial-backs over UDP and TCP', function () {
  this.timeout(20_000);
  const nodes: DhtNode[] = [];
  const services: NatService[] = [];
  const servers: net.Server[] = [];
  const raws: RawPeer[] = [];
  let probers: DhtNode[];
  let requester: DhtNode;

  beforeEach(async () => {
    probers = [await DhtNode.create({ ...LOOPBACK, host: '127.0.1.1' })];
    probers.push(await DhtNode.create({ ...LOOPBACK, host: '127.0.2.1', bootstrap: [probers[0]!.address] }));
    nodes.push(...probers);
    // A tight per-prefix limit, so the test needs few requests to reach it.
    for (const p of probers) services.push(new NatService(p, { dialBack: { perPrefix: { perSecond: 1 / 30, burst: 2 } } }));
    requester = await DhtNode.create({ ...LOOPBACK, host: '127.0.0.1', bootstrap: probers.map((p) => p.address) });
    nodes.push(requester);
  });

  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop()));
    await closeAll(nodes.splice(0));
    await Promise.all(raws.splice(0).map((r) => r.close()));
    for (const s of servers.splice(0)) s.close();
  });

  it('a peer that strangers can reach learns it for UDP and TCP from two prefixes', async () => {
    servers.push(await tcpListener('127.0.0.1', requester.address.port));
    const nat = new NatService(requester);
    services.push(nat);
    const verdict = await nat.checkReachability();
    expect(verdict).to.deep.equal({ udp: 'reachable', tcp: 'reachable' });
    expect(services[0]!.dialBacks).to.deep.equal({ served: 1, refusedThirdParty: 0, refusedRate: 0 });
    expect(nat.status()).to.deep.include({ reach: 'public', address: `127.0.0.1:${requester.address.port}`, addressSource: 'bound', udp: 'reachable' });
    expect(requester.readOnly).to.equal(false);
  });

  it('with nothing listening on TCP: UDP reachable, TCP unreachable', async () => {
    const nat = new NatService(requester);
    services.push(nat);
    expect(await nat.checkReachability()).to.deep.equal({ udp: 'reachable', tcp: 'unreachable' });
  });

  it('refuses and counts a dial-back aimed at another host, and sends it nothing', async () => {
    const victim = await RawPeer.open('127.0.5.5');
    raws.push(victim);
    const err = await requester.rpc
      .request(probers[0]!.address, DialBack, { nonce: randomBytes(8), to: victim.address }, DialBackResult)
      .then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(RpcError);
    expect((err as RpcError).remoteCode).to.equal(DialBackRefusal.THIRD_PARTY);
    expect(services[0]!.dialBacks).to.deep.equal({ served: 0, refusedThirdParty: 1, refusedRate: 0 });
    // A probe, had one been sent, would arrive within a round trip; wait one PING's worth.
    await requester.ping(probers[0]!.address);
    expect(victim.received).to.have.length(0);
  });

  it('rate-limits dial-backs per requester network: two at once, then refused and counted', async () => {
    const asker = await RawPeer.open('127.0.0.1');
    raws.push(asker);
    const ask = async () => {
      const before = asker.received.length;
      await asker.send(encodeMessage(DialBack, randomBytes(8), asker.id, { nonce: randomBytes(8) }), probers[1]!.address);
      // Each accepted request brings a DIAL_PROBE (to us: the same host and port) and a result.
      await asker.waitFor(before + 1);
    };
    for (let i = 0; i < 3; i++) await ask();
    // (The prober also checks the stranger with a PING, as for any request.)
    const answers = () => asker.received.filter((r) => r.envelope.spec.isResponse).length;
    while (answers() < 3) await asker.waitFor(asker.received.length + 1);
    const types = asker.received.map((r) => r.envelope.spec.name);
    expect(types.filter((t) => t === 'DIAL_PROBE')).to.have.length(2);
    expect(types.filter((t) => t === 'DIAL_BACK_RESULT')).to.have.length(2);
    expect(types.filter((t) => t === 'ERROR')).to.have.length(1);
    expect(services[1]!.dialBacks).to.deep.equal({ served: 2, refusedThirdParty: 0, refusedRate: 1 });
    // The probe came from another port than the prober's, marked read-only.
    const probe = asker.received.find((r) => r.envelope.type === DialProbe.type)!;
    expect(probe.from.port).to.not.equal(probers[1]!.address.port);
    expect(probe.envelope.readOnly).to.equal(true);
    expect(decodeMessage(encodeMessage(DialProbe, randomBytes(8), asker.id, { nonce: randomBytes(8) }, { readOnly: true })).readOnly).to.equal(true);
  });
});
