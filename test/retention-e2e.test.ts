/**
 * Forget and prune for real, through real peers on loopback (an owner and 3 hosts, replicas 3):
 * tags stored and kept by, snapshots forgotten in the catalog chain (a new machine does not list
 * them), prune cancelling what no kept snapshot needs and repacking the rest, every kept
 * snapshot restoring byte for byte.
 */
import { expect } from 'chai';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Peer, type PeerOptions } from '../src/peer/peer.js';
import { MiB, peerOptions, startPeers, stopAll, tempDir } from './helpers/peers.js';
import { describeTree, type Described } from './helpers/trees.js';

const FAST: Partial<PeerOptions> = {
  dht: { maxPerIpPerBucket: Infinity, rateLimit: null, lookupTimeoutMs: 1000, requestTimeoutMs: 1000, retries: 0 },
  backup: { shardSize: 1 * MiB, chunkSizes: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }, hostGraceMs: 0, compactAfterSegments: 4 },
};

/** Bytes of shard files a host keeps on disk for others. */
function hostBytes(host: Peer): number {
  const dir = path.join(host.dataDir, 'shards');
  let total = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else total += statSync(path.join(d, e.name)).size;
    }
  };
  walk(dir);
  return total;
}

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
    // A dry run with --prune plans the prune as if those two were gone already: their churn
    // files (2 x 400 KiB) show as unused; nothing is cancelled.
    const dryPrune = await owner.forget({ policy: { last: 1, tags: [['release']] }, dryRun: true, prune: true, maxUnusedPercent: 0 });
    expect(dryPrune.prune!.dryRun).to.equal(true);
    expect(dryPrune.prune!.plan.totals.unusedBytes).to.be.greaterThan(2 * 400 * 1024);
    expect(dryPrune.prune!.cancelled).to.equal(0);
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

  it('peer.ls, diff, find, stats and uniqueBytes on the new machine (trees downloaded as needed, nothing left in tmp)', async () => {
    const [newer, older] = (await owner.snapshots()).map((s) => s.id) as [string, string];
    const all: string[] = [];
    for await (const e of owner.ls(newer, '', { recursive: true })) all.push(`${e.path}:${e.type}:${e.size}`);
    expect(all).to.deep.equal([`churn.bin:file:${400 * 1024}`, 'keep:dir:0', `keep/stable.bin:file:${300 * 1024}`]);
    // Stopping early is fine: the walk's temporary folder goes with it.
    for await (const e of owner.ls(newer, '', { recursive: true })) if (e.path) break;
    expect(readdirSync(path.join(owner.dataDir, 'backup', 'tmp'))).to.deep.equal([]);
    const changes = [];
    for await (const c of owner.diff(older, newer)) changes.push(c);
    expect(changes).to.deep.equal([{ kind: 'changed', path: 'churn.bin', type: 'file', what: 'content', sizeBefore: 400 * 1024, sizeAfter: 400 * 1024 }]);
    const found = [];
    for await (const f of owner.find('stable.*')) found.push(`${f.snapshot}:${f.path}`);
    expect(found).to.deep.equal([`${newer}:keep/stable.bin`, `${older}:keep/stable.bin`]);
    const stats = owner.stats();
    expect(stats.snapshots.map((x) => x.id)).to.deep.equal([newer, older]);
    expect(stats.sourceBytes).to.equal(2 * 700 * 1024);
    // Not pruned yet: stable.bin once (deduplicated), all four churn files (the forgotten ones'
    // too), trees and metadata; compression gains nothing on random data.
    expect(stats.storedBytes).to.be.greaterThan(1900 * 1024).and.lessThan(1900 * 1024 * 1.05);
    expect(stats.hostBytes).to.be.greaterThan(2 * stats.storedBytes);
    // What forgetting each alone would free: its own churn file (sealed: random data, a little
    // more than 400 KiB) and its root tree; stable.bin and the keep/ tree are shared.
    const unique = await owner.uniqueBytes();
    expect([...unique.keys()]).to.deep.equal([newer, older]);
    for (const bytes of unique.values()) expect(bytes).to.be.greaterThan(400 * 1024).and.lessThan(420 * 1024);
    expect(readdirSync(path.join(owner.dataDir, 'backup', 'tmp'))).to.deep.equal([]);
  });

  it('prune on the new machine: contracts and host bytes drop to what kept snapshots need; kept ones restore, here and on another new machine', async () => {
    const hosts = peers.slice(1, 4);
    const before = { bytes: hosts.reduce((n, h) => n + hostBytes(h), 0), contracts: owner.contracts().filter((c) => c.role === 'owner' && c.state !== 'cancelled').length };
    const dry = await owner.prune({ dryRun: true });
    expect(dry.plan.drop + dry.plan.repack).to.be.greaterThan(0);
    expect(dry.cancelled).to.equal(0);
    const done = await owner.prune();
    if (process.env['DBS_DEBUG']) console.log(JSON.stringify({ before, dry, done }));
    expect(done.removedShards).to.equal(dry.plan.drop + dry.plan.repack);
    expect(done.cancelled).to.be.greaterThan(0);
    const after = { bytes: hosts.reduce((n, h) => n + hostBytes(h), 0), contracts: owner.contracts().filter((c) => c.role === 'owner' && c.state !== 'cancelled').length };
    // Two snapshots of four are gone: each needed its own 400 KiB churn file (x3 replicas).
    expect(after.bytes).to.be.lessThan(before.bytes - 2 * 3 * 400 * 1024);
    // What stays: the kept snapshots' data (300 + 2 x 400 KiB) and metadata, 3 replicas, plus shard framing.
    expect(after.bytes).to.be.lessThan(3 * (1100 * 1024) * 1.25);
    expect(after.contracts).to.be.lessThan(before.contracts);
    if (process.env['DBS_DEBUG']) console.log(JSON.stringify({ after, hostLive: hosts.map((h) => h.status().contracts.host) }));
    // Hosts hear of it too: their live contracts for us are exactly our live ones. That includes
    // the 3 of the shard that held the head segment at recovery, known to this machine only by
    // host and contract ID from the root record: recovery placed that shard again, so prune
    // cancels the old ones by ID (they stayed on hosts until they lapsed before).
    expect(hosts.reduce((n, h) => n + h.status().contracts.host, 0)).to.equal(after.contracts);
    // Every live contract of ours names a shard some host still holds, and nothing is left to prune.
    const again = await owner.prune({ dryRun: true });
    expect(again.plan.missingChunks).to.equal(0);
    for (const id of owner.snapshots ? (await owner.snapshots()).map((s) => s.id) : []) await restoresExactly(owner, id);
    // And from the recovery key alone, after the prune.
    const key = owner.recoveryKey;
    await owner.stop();
    rmSync(owner.dataDir, { recursive: true, force: true });
    const fresh = await Peer.start(peerOptions({ ...FAST, recoveryKey: key, bootstrap: [peers[1]!.address] }));
    peers.push(fresh);
    owner = fresh;
    const listed = (await fresh.snapshots()).map((s) => s.id);
    expect(listed).to.have.length(2);
    for (const id of listed) await restoresExactly(fresh, id);
  });
});
