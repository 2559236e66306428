/**
 * Prune's rewrite of the whole index goes into shards of about the shard size, not all into one
 * (src/backup/bounded-pieces.ts): 3,000 small files in 64 KiB shards with 8 KiB index pieces
 * (~135 KB of index entries), a snapshot forgotten and pruned; every shard placed stays under
 * the shard size plus one piece and the catalog, several hold index pieces, and a new machine
 * finds the kept snapshot through them and restores it byte for byte. Fake ports (in-process
 * hosts): what is tested is the layout, not the network.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deriveBackupKeys } from '../src/backup/crypto.js';
import { BackupEngine } from '../src/backup/engine.js';
import { openDatabase, type Db } from '../src/storage/database.js';
import { ManualClock } from '../src/util/clock.js';
import { FakeNetwork } from './helpers/fake-ports.js';
import { tempDir } from './helpers/temp.js';
import { describeTree } from './helpers/trees.js';

const KiB = 1024;
const OPTIONS = { shardSize: 64 * KiB, chunkSizes: { min: 16 * KiB, avg: 64 * KiB, max: 256 * KiB }, hostGraceMs: 0, indexPieceBytes: 8 * KiB };

describe('prune: the rewritten index in shards of bounded size (fake ports)', function () {
  this.timeout(120_000);
  const keys = deriveBackupKeys(new Uint8Array(randomBytes(32)));
  const dirs: string[] = [];
  const dbs: Db[] = [];
  after(() => {
    for (const db of dbs) db.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function engine(network: FakeNetwork): Promise<BackupEngine> {
    const dataDir = tempDir('dbs-bounded-');
    dirs.push(dataDir);
    const db = openDatabase(path.join(dataDir, 'peer.db'));
    dbs.push(db);
    const e = new BackupEngine(network.ports(), db, dataDir, keys, OPTIONS);
    await e.init();
    return e;
  }

  it('a prune of a 3,000-file history writes its index into several shards near the shard size; a new machine restores from them', async () => {
    const hosts = tempDir('dbs-bounded-hosts-');
    const source = tempDir('dbs-bounded-src-');
    dirs.push(hosts, source);
    const network = new FakeNetwork(hosts, 3, new ManualClock());
    const write = (round: number) => {
      for (let d = 0; d < 30; d++) {
        mkdirSync(path.join(source, `d${d}`), { recursive: true });
        for (let f = 0; f < 100; f++) writeFileSync(path.join(source, `d${d}`, `f${f}`), `${round}:${d}/${f} ${randomBytes(8).toString('hex')}\n`);
      }
    };
    write(0);
    const owner = await engine(network);
    const first = await owner.backup(source, { replicas: 2 });
    write(1); // every file changed: the first snapshot's files are needed by it alone
    const second = await owner.backup(source, { replicas: 2 });
    await owner.removeSnapshots([first.id]);
    const contractsBefore = new Set(network.live().map((c) => c.contract.id).map((id) => Buffer.from(id).toString('hex')));
    const done = await owner.prune({ maxUnusedPercent: 0 });
    expect(done.removedShards).to.be.greaterThan(0);

    // The shards this prune placed: none over the shard size plus one piece and the catalog.
    const placed = network.live().filter((c) => !contractsBefore.has(Buffer.from(c.contract.id).toString('hex')));
    const sizes = [...new Map(placed.map((c) => [Buffer.from(c.contract.terms.shardHash).toString('hex'), c.contract.terms.shardSize])).values()];
    expect(sizes.length, 'the index went into more than one shard').to.be.at.least(2);
    for (const size of sizes) expect(size).to.be.lessThan(OPTIONS.shardSize + 2 * OPTIONS.indexPieceBytes + 16 * KiB);

    // A new machine: the catalog and the index pieces spread over those shards lead to every file.
    const fresh = await engine(network);
    expect((await fresh.snapshots()).map((s) => s.id)).to.deep.equal([second.id]);
    const dest = path.join(tempDir('dbs-bounded-dest-'), 'r');
    dirs.push(path.dirname(dest));
    expect((await fresh.restore(second.id, dest)).incomplete).to.deep.equal([]);
    expect(describeTree(dest)).to.deep.equal(describeTree(source));
  });
});
