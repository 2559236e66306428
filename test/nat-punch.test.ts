/**
 * Hole punching in the NAT lab (test/helpers/nat-lab.ts: real kernel NAT in network namespaces):
 * two homes behind cone NATs (nftables `masquerade`, port-preserving; routers that drop what
 * nobody asked for and forget a UDP mapping after 5 s of silence) register with public
 * rendezvous peers that keep no data, publish peer records naming them, and then one home finds
 * the other by its public key, punches through both NATs by way of a rendezvous, and completes a
 * HELLO, a contract proposal and a DHT PING with it over the punched UDP path, then uploads the
 * shard and audits it over TCP streams punched by simultaneous open. Before the punch the same
 * PING does not get through: without the punching code there is no path.
 *
 * Needs root, nftables and conntrack; skips with the reason otherwise.
 */
import { expect } from 'chai';
import { createNatLab, type Home, type LabHost, labToolMissing, type NatLab, natLabUnavailable } from './helpers/nat-lab.js';
import { LabNode, PUNCH_CHILD } from './helpers/nat-node.js';

const PORT = 7000;

describe('NAT lab: hole punching through a rendezvous', function () {
  this.timeout(90_000);
  // conntrack: the routers forget earlier mappings between the homes (forgetUdp).
  const unavailable = natLabUnavailable() ?? labToolMissing('conntrack');
  let lab: NatLab | undefined;
  const nodes: LabNode[] = [];

  after(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
    lab?.close();
  });

  it('two homes behind cone NATs: a DHT exchange, a contract, the shard upload and an audit with each other, through a public rendezvous that keeps no data', async function () {
    if (unavailable) return this.skip();
    lab = createNatLab();
    // Three public peers in three network prefixes: enough for the address quorum (2) and the
    // dial-back verdict (2 prefixes other than the homes' own, 198.51.100.0/24). They run the DHT and the NAT service only: no contracts,
    // no shard store, they keep nobody's data.
    const pubs: LabHost[] = [lab.addPublicHost('198.51.100'), lab.addPublicHost('203.0.113'), lab.addPublicHost('192.0.2')];
    const publicNodes: LabNode[] = [];
    for (const p of pubs) {
      publicNodes.push(await LabNode.start(p.ns, { host: p.address, port: PORT, bootstrap: publicNodes.map((n) => n.address) }));
    }
    nodes.push(...publicNodes);
    const bootstrap = publicNodes.map((n) => n.address);
    const homes: Home[] = [lab.addHome('cone', { udpTimeoutSeconds: 5 }), lab.addHome('cone', { udpTimeoutSeconds: 5 })];
    const [a, b] = await Promise.all(
      homes.map((h) => LabNode.start(h.host.ns, { host: '0.0.0.0', port: PORT, bootstrap, addressQuorum: 2, keepaliveIntervalMs: 2000 }, PUNCH_CHILD)),
    );
    nodes.push(a!, b!);
    const wanA = `${homes[0]!.router.wan}:${PORT}`;
    const wanB = `${homes[1]!.router.wan}:${PORT}`;

    // Each home learns its external address, finds that strangers cannot reach it (client-only)
    // and registers with the public peers, which now pass punch requests on to it.
    for (const [node, wan] of [[a!, wanA], [b!, wanB]] as const) {
      const s = await node.until((st) => st.reach.registeredWith.length === 3, `${wan} to register with three rendezvous`, 30_000);
      expect(s.reach).to.deep.include({ reach: 'client-only', address: wan, udp: 'unreachable', tcp: 'unreachable' });
      expect(s.reach.registeredWith).to.have.members(bootstrap);
    }
    const published = await b!.call('publish');
    expect(published.record).to.deep.equal({ address: wanB, rendezvous: published.record.rendezvous });
    expect(published.record.rendezvous).to.have.members(bootstrap);

    // No path yet: B's NAT drops what A sends, as it dropped the dial-backs. (The homes may have
    // talked while they still took part fully, before their dial-backs failed: the routers forget
    // those mappings here, as they would after a while.)
    lab.forgetUdp(homes[0]!, homes[1]!.router.wan);
    lab.forgetUdp(homes[1]!, homes[0]!.router.wan);
    expect(await a!.call('ping', { to: wanB })).to.deep.equal({ answered: false });

    const contactsBefore: string[] = (await a!.call('status')).contacts;
    // A finds B by its public key, punches through a rendezvous, then HELLO and CONTRACT_PROPOSE.
    const outcome = await a!.call('propose', { publicKey: b!.ready.publicKey });
    // Then the shard goes over a TCP stream punched by simultaneous open (each side from a second
    // port, predicted as its external one: masquerade keeps ports), and an audit passes over another.
    expect(outcome).to.deep.include({ accepted: true, punched: true, uploaded: true, audit: true });
    expect(outcome.record).to.deep.include({ address: wanB, verified: true });
    // The DHT's own messages use the punched path too.
    expect(await a!.call('ping', { to: wanB })).to.deep.equal({ answered: true });

    const hostSide = await b!.call('status');
    expect(hostSide.contracts).to.deep.equal([{ role: 'host', state: 'active', counterpartAddress: wanA }]);
    expect(hostSide.transfers).to.deep.include({ puts: 1, audits: 1 });
    expect(hostSide.punching.punches.notified).to.equal(1);
    expect(hostSide.punching.punches.punched).to.equal(1);
    expect(hostSide.punching.tcp).to.deep.include({ accepted: 2, refused: 0 });
    const ownerSide = await a!.call('status');
    // B answered A over the punched path, yet did not enter A's routing table: only A can reach it.
    // (Before their dial-backs failed, the homes took part fully for a moment and may have met
    // then: only what the punch would have added is checked.)
    if (!contactsBefore.includes(wanB)) expect(ownerSide.contacts).to.not.include(wanB);
    expect(ownerSide.contracts).to.deep.equal([{ role: 'owner', state: 'active', counterpartAddress: wanB }]);
    expect(ownerSide.punching.punches.punched).to.equal(1);
    expect(ownerSide.punching.tcp).to.deep.include({ opened: 2, failed: 0 });
    // `dbs peers`: the public peers are direct (and our rendezvous), the other home punched.
    const { peers } = await a!.call('peers');
    expect(peers.find((p: { address: string }) => p.address === wanB)).to.deep.include({ reach: 'punched' });
    expect(peers.filter((p: { how: string }) => p.how === 'direct, our rendezvous').map((p: { address: string }) => p.address)).to.have.members(bootstrap);
    // One rendezvous passed the request on; neither refused anything.
    const served = await Promise.all(publicNodes.map((p) => p.call('status')));
    expect(served.map((s) => s.punching.rendezvous.forwarded).reduce((x: number, y: number) => x + y, 0)).to.equal(1);
    for (const s of served) {
      expect(s.punching.rendezvous).to.deep.include({ refusedUnregistered: 0, refusedRate: 0, refusedFull: 0, registrations: 2 });
    }
  });
});
