/**
 * Forget and prune for real, through real peers on loopback (an owner and 3 hosts, replicas 3):
 * tags stored and kept by, snapshots forgotten in the catalog chain (a new machine does not list
 * them), prune cancelling what no kept snapshot needs and repacking the rest, every kept
 * snapshot restoring byte for byte.
 */
import { expect } from 'chai';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Peer, type PeerOptions } from '../src/peer/peer.js';
import { MiB, peerOptions, startPeers, stopAll, tempDir } from './helpers/peers.js';
import { describeTree, type Described } from './helpers/trees.js';

const FAST: Partial<PeerOptions> = {
  dht: { maxPerIpPerBucket: Infinity, rateLimit: null, lookupTimeoutMs: 1000, requestTimeoutMs: 1000, retries: 0 },
  backup: { shardSize: 1 * MiB, chunkSizes: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }, hostGraceMs: 0, compactAfterSegments: 4 },
};

describe('forget and prune for real (owner + 3 real hosts)', function () {
  this.timeout(180_000);
  let peers: Peer[] = [];
  let owner: Peer;
  const source = tempDir('dbs-ret-src-');
  const taken = new Map<string, Described[]>();

  async function backup(tags?: string[]): Promise<string> {
    const result = await owner.backup(source, { replicas: 3, ...(tags ? { tags } : {}) });
    expect(result.shortfall).to.equal(0);
    taken.set(result.id, describeTree(source));
    return result.id;
  }

  async function restoresExactly(peer: Peer, id: string): Promise<void> {
    const dest = path.join(tempDir('dbs-ret-dest-'), 'r');
    const result = await peer.restore(id, dest);
    expect(result.incomplete).to.deep.equal([]);
    expect(describeTree(dest), id).to.deep.equal(taken.get(id));
  }

  before(async () => {
    mkdirSync(path.join(source, 'keep'), { recursive: true });
    writeFileSync(path.join(source, 'keep', 'stable.bin'), randomBytes(300 * 1024));
    peers = await startPeers(4, FAST);
    owner = peers[0]!;
  });
  after(() => stopAll(peers));

  it('stores tags, forgets by policy (keeping the tagged one), and a new machine lists only what is kept', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      // Each backup replaces the churning file: what only older snapshots need is prunable later.
      writeFileSync(path.join(source, 'churn.bin'), randomBytes(400 * 1024));
      ids.push(await backup(i === 1 ? ['release', 'v1'] : undefined));
    }
    const listed = await owner.snapshots();
    expect(listed.find((s) => s.id === ids[1])?.tags).to.deep.equal(['release', 'v1']);
    expect(listed.find((s) => s.id === ids[0])?.tags).to.equal(undefined);
    const dry = await owner.forget({ policy: { last: 1, tags: [['release']] }, dryRun: true });
    expect(dry.remove.sort()).to.deep.equal([ids[0], ids[2]].sort());
    expect((await owner.snapshots()).length).to.equal(4);
    const done = await owner.forget({ policy: { last: 1, tags: [['release']] } });
    expect(done.removed.sort()).to.deep.equal([ids[0], ids[2]].sort());
    expect((await owner.snapshots()).map((s) => s.id).sort()).to.deep.equal([ids[1], ids[3]].sort());
    for (const id of [ids[1]!, ids[3]!]) await restoresExactly(owner, id);
    // A new machine: the forgotten ones are not listed, the tags came along.
    const key = owner.recoveryKey;
    const bootstrap = peers[1]!;
    await owner.stop();
    rmSync(owner.dataDir, { recursive: true, force: true });
    const fresh = await Peer.start(peerOptions({ ...FAST, recoveryKey: key, bootstrap: [bootstrap.address] }));
    peers.push(fresh);
    owner = fresh;
    const recovered = await fresh.snapshots();
    expect(recovered.map((s) => s.id).sort()).to.deep.equal([ids[1], ids[3]].sort());
    expect(recovered.find((s) => s.id === ids[1])?.tags).to.deep.equal(['release', 'v1']);
    await restoresExactly(fresh, ids[1]!);
  });
});
