/**
 * Index deltas cover what a failed backup placed (its chunks are deduplicated against by the
 * next backup, so the next delta must say where they are, or a new machine could not restore
 * them: found by test/faults/crash-peer.test.ts), and a delta larger than a shard is packed
 * into shards of their usual size, not all into the last one.
 */
import { expect } from 'chai';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { BackupEngine } from '../src/backup/engine.js';
import { deriveBackupKeys } from '../src/backup/crypto.js';
import { openDatabase, type Db } from '../src/storage/database.js';
import { ManualClock } from '../src/util/clock.js';
import { FakeNetwork } from './helpers/fake-ports.js';
import { tempDir } from './helpers/temp.js';
import { describeTree } from './helpers/trees.js';
import { withUnopenable } from './helpers/unopenable.js';

const MiB = 2 ** 20;
const SMALL = { shardSize: 1 * MiB, chunkSizes: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }, hostGraceMs: 0 };

describe('backup pipeline: index deltas, read buffers (fake ports)', function () {
  this.timeout(60_000);
  const keys = deriveBackupKeys(new Uint8Array(randomBytes(32)));
  const dirs: string[] = [];
  const dbs: Db[] = [];
  after(() => {
    for (const db of dbs) db.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function engine(network: FakeNetwork, options: Partial<typeof SMALL> = {}): Promise<BackupEngine> {
    const dataDir = tempDir('dbs-delta-');
    dirs.push(dataDir);
    const db = openDatabase(path.join(dataDir, 'peer.db'));
    dbs.push(db);
    const e = new BackupEngine(network.ports(), db, dataDir, keys, { ...SMALL, ...options });
    await e.init();
    return e;
  }

  it('the next backup\'s delta holds the chunks a failed one placed, and a new machine restores them', async () => {
    const hosts = tempDir('dbs-delta-hosts-');
    const source = tempDir('dbs-delta-src-');
    dirs.push(hosts, source);
    const network = new FakeNetwork(hosts, 4, new ManualClock());
    writeFileSync(path.join(source, 'a-large.bin'), randomBytes(5 * MiB));
    writeFileSync(path.join(source, 'z-last.txt'), 'read last\n');
    const owner = await engine(network);
    // The last file cannot be opened: the backup fails after placing the large file's shards.
    const blocked = path.join(source, 'z-last.txt');
    const { result: failed } = await withUnopenable(blocked, () => owner.backup(source, { replicas: 2 }).catch((e: unknown) => e));
    expect((failed as NodeJS.ErrnoException).code).to.equal('EACCES');
    expect(network.live().length).to.be.greaterThan(0);
    const ok = await owner.backup(source, { replicas: 2 });
    // The large file's chunks in the shards the failed backup placed are not stored again (those
    // in the shard it was filling when it failed, up to 1 MiB, are).
    expect(ok.uploadedBytes).to.be.lessThan(2 * MiB);
    const fresh = await engine(network);
    expect((await fresh.snapshots()).map((s) => s.id)).to.deep.equal([ok.id]);
    const dest = path.join(tempDir('dbs-delta-dest-'), 'r');
    dirs.push(path.dirname(dest));
    const restored = await fresh.restore(ok.id, dest);
    expect(restored.incomplete).to.deep.equal([]);
    expect(describeTree(dest)).to.deep.equal(describeTree(source));
  });

  it('a delta too large for the last shard goes into shards of its own size, found again by a new machine', async () => {
    const hosts = tempDir('dbs-delta-hosts-');
    const source = tempDir('dbs-delta-src-');
    dirs.push(hosts, source);
    const network = new FakeNetwork(hosts, 4, new ManualClock());
    // 1,500 tiny files: ~75 KB of index entries against 64 KiB shards.
    for (let d = 0; d < 15; d++) {
      mkdirSync(path.join(source, `d${d}`));
      for (let f = 0; f < 100; f++) writeFileSync(path.join(source, `d${d}`, `f${f}`), `${d}/${f} ${randomBytes(8).toString('hex')}\n`);
    }
    const owner = await engine(network, { shardSize: 64 * 1024 });
    const first = await owner.backup(source, { replicas: 2 });
    expect(first.shards).to.be.greaterThan(2);
    // The shards stay near their size: the last one holds the catalog segment, not the whole delta.
    for (const c of network.live()) expect(c.contract.terms.shardSize).to.be.lessThan(2 * 64 * 1024);
    const again = await owner.backup(source, { replicas: 2 });
    expect(again.shards).to.equal(1);
    const fresh = await engine(network, { shardSize: 64 * 1024 });
    expect((await fresh.snapshots()).map((s) => s.id).sort()).to.deep.equal([first.id, again.id].sort());
    for (const id of [first.id, again.id]) {
      const dest = path.join(tempDir('dbs-delta-dest-'), 'r');
      dirs.push(path.dirname(dest));
      expect((await fresh.restore(id, dest)).incomplete).to.deep.equal([]);
      expect(describeTree(dest)).to.deep.equal(describeTree(source));
    }
  });

  it('reads a subdirectory\'s files while a large file of its parent is still being read (read buffers are waited for)', async () => {
    const hosts = tempDir('dbs-delta-hosts-');
    const source = tempDir('dbs-delta-src-');
    dirs.push(hosts, source);
    const network = new FakeNetwork(hosts, 3, new ManualClock());
    // Sorted: the large file starts first; the subdirectory's files start while it is read.
    writeFileSync(path.join(source, 'a-large.bin'), randomBytes(4 * MiB));
    mkdirSync(path.join(source, 'b'));
    for (let i = 0; i < 6; i++) writeFileSync(path.join(source, 'b', `f${i}.bin`), randomBytes(100 * 1024));
    const owner = await engine(network);
    const result = await owner.backup(source, { replicas: 2 });
    expect(result.stats.filesRead).to.equal(7);
    const dest = path.join(tempDir('dbs-delta-dest-'), 'r');
    dirs.push(path.dirname(dest));
    expect((await owner.restore(result.id, dest)).incomplete).to.deep.equal([]);
    expect(describeTree(dest)).to.deep.equal(describeTree(source));
  });
});
