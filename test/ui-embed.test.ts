/**
 * The web page for embedders: `UiServer` over `controlRoutes(peer, { dataDir })` of an
 * in-process Peer (real UDP and TCP on 127.0.0.1), as the package exports them. The API answers
 * what the peer says, and a snapshot's folders are listed a page at a time, with typed errors
 * for what is not there.
 */
import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { controlRoutes, EventFeed, SnapshotBrowseError, UiServer, type Peer } from '../src/index.js';
import { startPeers, stopAll, tempDir } from './helpers/peers.js';

describe('ui: embedded over an in-process peer', function () {
  this.timeout(30_000);
  let peers: Peer[] = [];
  let ui: UiServer;
  let snapshot = '';
  let backup: Awaited<ReturnType<Peer['backup']>>;
  const source = tempDir('dbs-ui-embed-src-');

  before(async function () {
    this.timeout(30_000);
    peers = await startPeers(4, { backup: { shardSize: 256 * 1024 } });
    mkdirSync(path.join(source, 'a', 'b'), { recursive: true });
    for (let i = 0; i < 7; i++) writeFileSync(path.join(source, 'a', `f${i}.txt`), `file ${i}\n`);
    writeFileSync(path.join(source, 'a', 'b', 'deep.txt'), 'deep\n');
    backup = await peers[0]!.backup(source, { replicas: 2 });
    snapshot = backup.id;
    const owner = peers[0]!;
    const feed = new EventFeed();
    ui = await UiServer.listen({ dataDir: owner.dataDir, routes: controlRoutes(owner, { dataDir: owner.dataDir, feed }), feed, port: 0 });
  });
  after(async () => {
    await ui?.close();
    await stopAll(peers);
  });

  const api = async (url: string) => {
    const res = await fetch(`${ui.origin}${url}`, { headers: { authorization: `Bearer ${ui.token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it('answers the peer\'s own status and snapshots', async () => {
    const status = await api('/api/status');
    expect(status.body.publicKey).to.equal(peers[0]!.status().publicKey);
    const snaps = await api('/api/snapshots');
    expect(snaps.body.items.map((s: { id: string }) => s.id)).to.deep.equal([snapshot]);
    // The backups chart's figures, recorded with the snapshot: what it uploaded, how long it took.
    expect(snaps.body.items[0].addedBytes).to.equal(backup.uploadedBytes).and.be.greaterThan(0);
    expect(snaps.body.items[0].durationMs).to.be.a('number').and.at.least(0);
  });

  it('counts the bytes its TCP client sent to hosts: at least every uploaded replica', async () => {
    const status = (await api('/api/status')).body;
    const uploaded = peers[0]!.contracts().filter((c) => c.role === 'owner' && c.state === 'active').reduce((t, c) => t + c.size, 0);
    expect(uploaded).to.be.greaterThan(0);
    expect(status.traffic.sent).to.be.at.least(uploaded);
    // Audits and downloads are what it received; no restore or audit ran yet, only answers.
    expect(status.traffic.received).to.be.lessThan(uploaded);
  });

  it('shows each host\'s storage used: the shards it received and keeps (active contracts), within what it promised', async () => {
    let used = 0;
    for (const host of peers.slice(1)) {
      const { storage } = host.status();
      const kept = host.contracts().filter((c) => c.role === 'host' && c.state === 'active').reduce((t, c) => t + c.size, 0);
      expect(storage.used).to.equal(kept);
      expect(storage.used).to.be.at.most(storage.promised);
      used += storage.used;
    }
    expect(used).to.be.greaterThan(0);
    // The overview's one answer carries the same figure.
    expect((await api('/api/overview')).body.status.storage.used).to.equal(peers[0]!.status().storage.used);
  });

  it('lists a folder of a snapshot a page at a time, folders first', async () => {
    const first = await api(`/api/entries?snapshot=${snapshot}&dir=a&limit=3`);
    expect(first.body).to.include({ dir: 'a', total: 8, offset: 0 });
    expect(first.body.entries.map((e: { path: string }) => e.path)).to.deep.equal(['a/b', 'a/f0.txt', 'a/f1.txt']);
    const last = await api(`/api/entries?snapshot=${snapshot.slice(0, 12)}&dir=/a/&offset=6&limit=3`);
    expect(last.body.entries.map((e: { name: string; size: number }) => [e.name, e.size])).to.deep.equal([['f5.txt', 7], ['f6.txt', 7]]);
  });

  it('says what is not there: an unknown path (404), a file (400), an unknown snapshot (404)', async () => {
    expect((await api(`/api/entries?snapshot=${snapshot}&dir=nope`)).status).to.equal(404);
    const file = await api(`/api/entries?snapshot=${snapshot}&dir=a/f0.txt`);
    expect(file.status).to.equal(400);
    expect(file.body.error.message).to.match(/is a file, not a folder/);
    expect((await api('/api/entries?snapshot=ffffffff')).status).to.equal(404);
    const err = await peers[0]!.snapshotEntries(snapshot, 'a/f0.txt', { offset: 0, limit: 10 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(SnapshotBrowseError).with.property('code', 'NOT_A_FOLDER');
  });

  it('shows each shard\'s live replicas against wanted', async () => {
    const shards = await api('/api/shards');
    expect(shards.body.total).to.be.greaterThan(0);
    expect(shards.body.degraded).to.equal(0);
    for (const s of shards.body.items) expect(s.live).to.equal(s.wanted);
  });
});
