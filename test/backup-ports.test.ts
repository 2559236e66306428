import { expect } from 'chai';
import { readdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { BackupEngine } from '../src/backup/engine.js';
import { deriveBackupKeys } from '../src/backup/crypto.js';
import { openDatabase, type Db } from '../src/storage/database.js';
import { ManualClock } from '../src/util/clock.js';
import { toHex } from '../src/util/bytes.js';
import { FakeNetwork } from './helpers/fake-ports.js';
import { tempDir } from './helpers/temp.js';
import { describeTree, makeSampleTree } from './helpers/trees.js';

const MiB = 2 ** 20;
const SMALL = { shardSize: 1 * MiB, chunkSizes: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }, hostGraceMs: 0 };

describe('backup engine against fake ports (no sockets, no DHT)', function () {
  this.timeout(30_000);
  const keys = deriveBackupKeys(new Uint8Array(randomBytes(32)));
  const clock = new ManualClock();
  const source = tempDir('dbs-src-');
  let network: FakeNetwork;
  const dbs: Db[] = [];

  async function engine(): Promise<{ engine: BackupEngine; dataDir: string }> {
    const dataDir = tempDir('dbs-owner-');
    dirs.push(dataDir);
    const db = openDatabase(path.join(dataDir, 'peer.db'));
    dbs.push(db);
    const e = new BackupEngine(network.ports(), db, dataDir, keys, SMALL);
    await e.init();
    return { engine: e, dataDir };
  }

  before(() => {
    makeSampleTree(source, 2);
    const hosts = tempDir('dbs-hosts-');
    dirs.push(hosts);
    network = new FakeNetwork(hosts, 5, clock);
  });
  const dirs: string[] = [];
  after(() => {
    for (const db of dbs) db.close();
    for (const dir of [source, ...dirs]) rmSync(dir, { recursive: true, force: true });
  });

  let owner: { engine: BackupEngine; dataDir: string };
  let snapshot: string;

  it('backs up, then restores from the hosts once the local copies are gone', async () => {
    owner = await engine();
    const result = await owner.engine.backup(source, { replicas: 3 });
    expect(result.shortfall).to.equal(0);
    expect(result.shards).to.be.greaterThan(2);
    snapshot = result.id;
    // Every shard, data, snapshot and catalog, on 3 distinct hosts.
    const shards = new Set(network.live().map((c) => toHex(c.contract.terms.shardHash)));
    expect(shards.size).to.equal(result.shards);
    for (const s of shards) expect(new Set(network.holders(s)).size).to.equal(3);
    expect(network.root).to.not.equal(null);

    const own = path.join(owner.dataDir, 'backup', 'shards');
    for (const f of readdirSync(own)) rmSync(path.join(own, f));
    const dest = path.join(tempDir('dbs-dest-'), 'restored');
    const restored = await owner.engine.restore(snapshot, dest);
    expect(restored.incomplete).to.deep.equal([]);
    expect(describeTree(dest)).to.deep.equal(describeTree(source));
  });

  it('cancels and strikes a host that lost its data, and repairs its shards elsewhere', async () => {
    const liar = network.hosts.find((h) => network.live().some((c) => Buffer.from(c.counterpart).equals(h.key)))!;
    const lost = network.live().filter((c) => Buffer.from(c.counterpart).equals(liar.key)).length;
    network.loseData(liar);
    const before = network.placements.length;
    const report = await owner.engine.maintain(clock.now(), { auditAll: true });
    // Every replica a repair placed is counted, repairs running at once included (repairs are
    // the placements of shards already hashed: no digest handed in).
    const repairs = network.placements.slice(before).filter((p) => !p.digest);
    expect(repairs.length).to.be.at.least(2);
    expect(report.replaced).to.equal(repairs.reduce((n, p) => n + p.placed, 0));
    // The local copies are gone: each repaired shard was downloaded once from a surviving
    // replica, and uploaded once per new replica.
    expect(report.repairDownloadedBytes).to.equal(repairs.reduce((n, p) => n + p.size, 0));
    expect(report.repairUploadedBytes).to.equal(repairs.reduce((n, p) => n + p.placed * p.size, 0));
    expect(report.failed).to.equal(lost);
    expect(report.cancelled).to.equal(lost);
    expect(report.replaced).to.be.at.least(lost);
    expect(network.strikes.get(toHex(liar.key))).to.equal(lost);
    // Back to 3 replicas everywhere, none on the host that failed, and it is excluded from now on.
    for (const s of new Set(network.live().map((c) => toHex(c.contract.terms.shardHash)))) {
      expect(new Set(network.holders(s)).size).to.equal(3);
      expect(network.holders(s)).to.not.include(toHex(liar.key));
    }
    expect(network.placements.at(-1)!.exclude).to.include(toHex(liar.key));
  });

  it('cancels a host unreachable past its grace period (0 here), without a strike', async () => {
    const silent = network.hosts.find((h) => network.live().some((c) => Buffer.from(c.counterpart).equals(h.key)))!;
    silent.silent = true;
    const held = network.live().filter((c) => Buffer.from(c.counterpart).equals(silent.key)).length;
    const report = await owner.engine.maintain(clock.now(), { auditAll: true });
    // hostGraceMs is 0: gone at once, but without a strike (it lost nothing we know of).
    expect(report.failed).to.equal(0);
    expect(report.cancelled).to.equal(held);
    expect(network.strikes.has(toHex(silent.key))).to.equal(false);
    silent.silent = false;
  });

  it('recovers the snapshots on a new machine from the root record alone, and restores', async () => {
    const fresh = await engine();
    const snapshots = await fresh.engine.snapshots();
    expect(snapshots.map((s) => s.id)).to.deep.equal([snapshot]);
    const dest = path.join(tempDir('dbs-dest-'), 'recovered');
    const restored = await fresh.engine.restore(snapshot, dest, { path: 'docs' });
    expect(restored.incomplete).to.deep.equal([]);
    expect(describeTree(path.join(dest, 'docs'))).to.deep.equal(describeTree(path.join(source, 'docs')));
  });
});
