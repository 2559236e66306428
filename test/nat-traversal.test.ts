/**
 * NAT traversal in the NAT lab (test/helpers/nat-lab.ts: real kernel NAT in network namespaces):
 * a node behind a cone NAT bound to 0.0.0.0 learns its external address from public peers in
 * distinct prefixes and joins under the ID of it; dial-backs show it that strangers cannot reach
 * it (so it stays client-only) and show a public peer that they can; a node behind a router with
 * UPnP / NAT-PMP maps its port and becomes reachable from the internet.
 *
 * Needs root, nftables, miniupnpd and miniupnpc (`upnpc`); skips with the reason otherwise.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createNatLab, type Home, type LabHost, type NatLab, natLabUnavailable } from './helpers/nat-lab.js';
import { LabNode } from './helpers/nat-node.js';
import { nodeIdFromAddress } from '../src/net/node-id.js';
import { toHex } from '../src/util/bytes.js';

const PORT = 7000;
const execFileAsync = promisify(execFile);

async function upnpList(home: Home): Promise<string> {
  const { stdout } = await execFileAsync('ip', ['netns', 'exec', home.host.ns, 'upnpc', '-l'], { timeout: 10_000 });
  return stdout;
}

describe('NAT lab: address discovery, dial-back and port mapping through real NAT', function () {
  this.timeout(90_000);
  const unavailable = natLabUnavailable(['upnp']);
  let lab: NatLab | undefined;
  const nodes: LabNode[] = [];
  let pubs: LabHost[];
  let publicNodes: LabNode[];
  let bootstrap: string[];

  before(async function () {
    if (unavailable) return this.skip();
    lab = createNatLab();
    // Three public peers in three network prefixes (/24s).
    pubs = [lab.addPublicHost('198.51.100'), lab.addPublicHost('203.0.113'), lab.addPublicHost('192.0.2')];
    publicNodes = [];
    for (const p of pubs) {
      const node = await LabNode.start(p.ns, { host: p.address, port: PORT, bootstrap: publicNodes.map((n) => n.address) });
      publicNodes.push(node);
    }
    nodes.push(...publicNodes);
    bootstrap = publicNodes.map((n) => n.address);
  });

  after(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
    lab?.close();
  });

  it('behind a cone NAT: learns the router address from peers in distinct prefixes and joins under its ID, then finds it is not reachable', async () => {
    const home = lab!.addHome('cone');
    const node = await LabNode.start(home.host.ns, { host: '0.0.0.0', port: PORT, bootstrap, addressQuorum: 2 });
    nodes.push(node);
    const wan = `${home.router.wan}:${PORT}`;
    const adopted = await node.until((s) => s.self.source === 'observed', 'the external address to be adopted');
    expect(adopted.self.address).to.equal(wan);
    expect(adopted.id).to.equal(toHex(nodeIdFromAddress({ host: home.router.wan, port: PORT })));
    expect(adopted.self.observed.mapping).to.equal('consistent');
    // Joined: the public peers verified it at the router's address (through the mappings its own
    // requests opened) and put it in their tables; none of its datagrams looked spoofed.
    for (const p of publicNodes) {
      const s = await p.until((st) => st.contacts.includes(wan), `${p.address} to add the NAT node`);
      expect(s.stats.droppedSpoofed).to.equal(0);
    }
    // Dial-backs from ports it never sent to are dropped by the NAT: UDP and TCP unreachable,
    // so it goes on as a client only.
    expect(await node.call('reach')).to.deep.equal({ udp: 'unreachable', tcp: 'unreachable' });
    const status = await node.call('status');
    expect(status.reach).to.deep.include({ reach: 'client-only', address: wan, addressSource: 'observed', udp: 'unreachable' });
    expect(status.self.readOnly).to.equal(true);
    expect(status.reach.reason).to.match(/dial-backs/);
  });

  it('keepalives to rendezvous hold a client-only peer\'s mapping open past the router\'s UDP timeout; without them it lapses', async () => {
    // Routers that forget a UDP mapping after 3 s of silence; one home keeps alive every second.
    const held = lab!.addHome('cone', { udpTimeoutSeconds: 3 });
    const lapsed = lab!.addHome('cone', { udpTimeoutSeconds: 3 });
    const withKeepalive = await LabNode.start(held.host.ns, { host: '0.0.0.0', port: PORT, bootstrap, addressQuorum: 2, keepaliveIntervalMs: 1000 });
    const without = await LabNode.start(lapsed.host.ns, { host: '0.0.0.0', port: PORT, bootstrap, addressQuorum: 2, keepaliveIntervalMs: 0 });
    nodes.push(withKeepalive, without);
    for (const n of [withKeepalive, without]) {
      await n.until((s) => s.self.source === 'observed', 'the external address');
      expect(await n.call('reach')).to.deep.include({ udp: 'unreachable' });
    }
    const status = await withKeepalive.until((s) => s.reach.rendezvous.length === 3, 'three rendezvous');
    expect(status.reach.rendezvous).to.have.members(bootstrap);
    // Twice the router's timeout of silence on the second home (real time: the kernel's timers).
    await new Promise((r) => setTimeout(r, 7000));
    const ping = (to: string) => publicNodes[0]!.call('ping', { to });
    expect(await ping(`${held.router.wan}:${PORT}`)).to.deep.equal({ answered: true });
    expect(await ping(`${lapsed.router.wan}:${PORT}`)).to.deep.equal({ answered: false });
    expect((await withKeepalive.call('status')).keepalives.sent).to.be.greaterThan(6);
  });

  it('a public peer learns that strangers reach it over UDP and TCP', async () => {
    expect(await publicNodes[0]!.call('reach')).to.deep.equal({ udp: 'reachable', tcp: 'reachable' });
    const status = await publicNodes[0]!.call('status');
    expect(status.reach).to.deep.include({ reach: 'public', addressSource: 'bound', udp: 'reachable', tcp: 'reachable' });
    const served = (await Promise.all(publicNodes.slice(1).map((p) => p.call('status')))).map((s) => s.dialBacks.served);
    expect(served.reduce((a: number, b: number) => a + b, 0)).to.be.greaterThan(1);
  });

  for (const protocol of ['upnp', 'nat-pmp'] as const) {
    it(`behind a router with ${protocol}: maps UDP and TCP, becomes reachable from the internet, unmaps on stop`, async () => {
      const home = lab!.addHome('upnp');
      const node = await LabNode.start(home.host.ns, { host: '0.0.0.0', port: PORT, bootstrap, mapPort: true, mappingProtocols: [protocol], renewEveryMs: 1000 });
      // Stopped below; listed too, so a failure before that does not leave it running (and mocha waiting).
      nodes.push(node);
      const wan = `${home.router.wan}:${PORT}`;
      const mapped = await node.until((s) => s.self.source === 'mapped', 'the mapped address');
      expect(mapped.self.address).to.equal(wan);
      expect(mapped.reach.mapping).to.deep.include({ protocol, external: wan });
      expect(mapped.id).to.equal(toHex(nodeIdFromAddress({ host: home.router.wan, port: PORT })));
      const list = await upnpList(home);
      expect(list).to.match(new RegExp(`UDP\\s+${PORT}->${home.host.address}:${PORT}`));
      expect(list).to.match(new RegExp(`TCP\\s+${PORT}->${home.host.address}:${PORT}`));
      // Renewed on its interval (1 s here), still mapped.
      await node.until((s) => s.mapping.renewals >= 1, 'a renewal');
      expect(await node.call('reach')).to.deep.equal({ udp: 'reachable', tcp: 'reachable' });
      expect((await node.call('status')).reach).to.deep.include({ reach: 'mapped', udp: 'reachable' });
      await node.stop();
      const after = await upnpList(home);
      expect(after).to.not.match(new RegExp(`${PORT}->${home.host.address}`));
    });
  }
});
