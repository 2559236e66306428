/**
 * The Peer with its NAT service on loopback: a peer bound to 0.0.0.0 is client-only until peers
 * in distinct networks (127.0.1.1, 127.0.2.1, 127.0.3.1 are three /24s) agree on its address, can
 * back up to reachable hosts meanwhile, then goes by that address, publishes its peer record under
 * it, and says so in its status. No port mapping here (mapPort false): nothing leaves loopback.
 */
import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Peer } from '../src/peer/peer.js';
import { renderReach } from '../src/cli/render.js';
import { peerOptions, stopAll, tempDir } from './helpers/peers.js';
import { until } from './helpers/network.js';

describe('Peer behind NAT on loopback: client-only until its address is agreed', function () {
  this.timeout(60_000);
  const peers: Peer[] = [];
  afterEach(async () => stopAll(peers.splice(0)));

  async function publicPeers(): Promise<Peer[]> {
    const out: Peer[] = [];
    for (const host of ['127.0.1.1', '127.0.2.1', '127.0.3.1']) {
      out.push(await Peer.start(peerOptions({ host, bootstrap: out.map((p) => p.address) })));
    }
    peers.push(...out);
    return out;
  }

  it('backs up to reachable hosts while client-only, and publishes no peer record yet', async () => {
    const hosts = await publicPeers();
    const base = peerOptions();
    // Quorum 4: three public networks cannot make it adopt yet, so it stays a client.
    const home = await Peer.start({ ...base, host: '0.0.0.0', bootstrap: hosts.map((h) => h.address), dht: { ...base.dht, addressQuorum: 4 }, nat: { mapPort: false } });
    peers.push(home);
    const status = home.status();
    expect(status.reach).to.deep.include({ reach: 'client-only', address: null, addressSource: 'unknown' });
    expect(renderReach(status.reach)).to.match(/^client only: too few peers/);
    expect(home.dht.readOnly).to.equal(true);
    for (const h of hosts) expect(h.peers().map((p) => p.address)).to.not.include(`127.0.0.1:${home.address.port}`);
    // A client can still back up onto reachable hosts (they answer its read-only requests).
    const src = path.join(tempDir(), 'src');
    mkdirSync(src, { recursive: true });
    writeFileSync(path.join(src, 'note.txt'), 'kept by friends');
    const snap = await home.backup(src, { replicas: 2 });
    expect(snap.shortfall).to.equal(0);
    expect(home.contracts().filter((c) => c.role === 'owner' && c.state === 'active').length).to.be.at.least(2);
    // Its peer record is not published while it has no address to give.
    expect(await hosts[0]!.findPeer(home.publicKey)).to.equal(null);
  });

  it('with quorum 2, takes 127.0.0.1:port, publishes its record there and shows "public"', async () => {
    const hosts = await publicPeers();
    const base = peerOptions();
    const home = await Peer.start({ ...base, host: '0.0.0.0', bootstrap: hosts.map((h) => h.address), dht: { ...base.dht, addressQuorum: 2 }, nat: { mapPort: false } });
    peers.push(home);
    const wan = `127.0.0.1:${home.address.port}`;
    await until(() => home.status().reach.addressSource === 'observed', 'the address to be adopted');
    expect(home.status().reach).to.deep.include({ reach: 'public', address: wan });
    expect(home.status().address).to.equal(wan);
    // The record is republished under the new address (after the rejoin): others find it there.
    let found: Awaited<ReturnType<Peer['findPeer']>> = null;
    for (let i = 0; i < 50 && !found; i++) {
      found = await hosts[1]!.findPeer(home.publicKey);
      if (!found) await new Promise((r) => setTimeout(r, 100));
    }
    expect(found).to.deep.include({ host: '127.0.0.1', port: home.address.port, verified: true });
    expect(renderReach(home.status().reach)).to.match(/^public at 127\.0\.0\.1:\d+ \(as \d networks see it; UDP/);
  });
});
