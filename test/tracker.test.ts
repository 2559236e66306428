/**
 * The optional tracker: its HTTP checks, and peers (real `dbs start` processes) that find each
 * other through it and keep working as a DHT once it is gone.
 */
import { expect } from 'chai';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startPeerProcess, DEMO_TUNING } from '../src/cli/demo.js';
import { TrackerServer } from '../src/tracker/server.js';
import { nodeIdFromAddress } from '../src/net/node-id.js';
import { toHex } from '../src/util/bytes.js';
import { dbs, eventually } from './helpers/cli.js';
import { tempDir } from './helpers/peers.js';

type PeerProcess = Awaited<ReturnType<typeof startPeerProcess>>;

async function post(url: string, route: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(new URL(route, url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('tracker: HTTP endpoints', function () {
  this.timeout(10_000);
  let tracker: TrackerServer;
  before(async () => {
    tracker = await TrackerServer.listen();
  });
  after(() => tracker.close());

  it('subscribes a node whose ID is SHA-1 of its address, lists it, and answers pings', async () => {
    const address = { host: '127.0.0.1', port: 40001 };
    const nodeId = toHex(nodeIdFromAddress(address));
    expect((await post(tracker.url, '/subscribe', { nodeId, address: '127.0.0.1:40001' })).status).to.equal(200);
    const listed = (await (await fetch(new URL('/nodes', tracker.url))).json()) as { nodes: Array<{ nodeId: string; address: string }> };
    expect(listed.nodes).to.deep.include({ nodeId, address: '127.0.0.1:40001' });
    expect((await post(tracker.url, '/ping', { nodeId })).status).to.equal(200);
    expect((await post(tracker.url, '/ping', { nodeId: 'ab'.repeat(20) })).status).to.equal(404);
  });

  it('refuses a node ID that is not its address\'s, another host\'s address, and junk', async () => {
    const wrongId = await post(tracker.url, '/subscribe', { nodeId: 'ab'.repeat(20), address: '127.0.0.1:40002' });
    expect(wrongId.status).to.equal(400);
    expect(wrongId.body.error).to.match(/not SHA-1 of the address/);
    const elsewhere = { host: '192.0.2.7', port: 7001 };
    const other = await post(tracker.url, '/subscribe', { nodeId: toHex(nodeIdFromAddress(elsewhere)), address: '192.0.2.7:7001' });
    expect(other.status).to.equal(403);
    expect((await post(tracker.url, '/subscribe', { nodeId: 'zz' })).status).to.equal(400);
    const res = await fetch(new URL('/subscribe', tracker.url), { method: 'POST', body: 'not json' });
    expect(res.status).to.equal(400);
    expect((await fetch(new URL('/admin', tracker.url))).status).to.equal(404);
    expect(tracker.registry.size).to.equal(1);
  });
});

describe('tracker: peers bootstrap through it, and the DHT outlives it', function () {
  this.timeout(60_000);
  const work = tempDir('dbs-tracker-');
  const peers: PeerProcess[] = [];
  let tracker: TrackerServer;
  const args = (url: string) => ['--host', '127.0.0.1', '--port', '0', '--storage', '64MiB', '--tracker', url, '--tuning', JSON.stringify({ ...DEMO_TUNING, trackerPingMs: 100 })];

  after(async function () {
    this.timeout(20_000);
    await Promise.all(peers.map(async (p) => {
      if (p.child.exitCode !== null) return;
      const exited = new Promise((r) => p.child.once('exit', r));
      p.child.kill('SIGTERM');
      await exited;
    }));
    await tracker?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('peers started with only --tracker find each other; after it stops, a new peer still finds them', async () => {
    tracker = await TrackerServer.listen();
    peers.push(await startPeerProcess('t1', path.join(work, 't1'), args(tracker.url)));
    peers.push(await startPeerProcess('t2', path.join(work, 't2'), args(tracker.url)));
    peers.push(await startPeerProcess('t3', path.join(work, 't3'), args(tracker.url)));
    expect(tracker.registry.size).to.equal(3);
    const known = async (i: number) => (JSON.parse((await dbs(['peers', '--json', '--data', peers[i]!.dataDir])).stdout) as Array<{ address: string }>).map((p) => p.address);
    // t2 and t3 joined through t1 (the tracker listed it), so t1 learnt of them too.
    expect(await known(0)).to.include.members([peers[1]!.address, peers[2]!.address]);
    expect(await known(2)).to.include.members([peers[0]!.address, peers[1]!.address]);

    await tracker.close();
    await eventually(async () => readFileSync(path.join(peers[0]!.dataDir, 'terminal.log'), 'utf8').includes('tracker unreachable'), 'the peer noticing the tracker is gone');
    // Without the tracker: a newcomer joins through any peer and finds t1 by its key.
    peers.push(await startPeerProcess('t4', path.join(work, 't4'), ['--host', '127.0.0.1', '--port', '0', '--storage', '64MiB', '--bootstrap', peers[2]!.address, '--tuning', JSON.stringify(DEMO_TUNING)]));
    const r = await dbs(['lookup', peers[0]!.publicKey, '--data', peers[3]!.dataDir]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`is at ${peers[0]!.address}`);
    // And the peer that lost its tracker still answers its user.
    expect((await dbs(['status', '--data', peers[0]!.dataDir])).code).to.equal(0);
  });
});
