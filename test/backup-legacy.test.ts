/**
 * First-format backups (one snapshot object per backup, root record v1) fail with a typed
 * error, never a crash: a snapshot row kept by the schema migration, and a v1 root record met
 * on a new machine. Plus the watcher's changed-path bookkeeping (pure).
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { BackupEngine } from '../src/backup/engine.js';
import { deriveBackupKeys } from '../src/backup/crypto.js';
import { encodeRootRecord } from '../src/backup/formats.js';
import { WatchedChanges } from '../src/backup/watcher.js';
import { SnapshotFormatError } from '../src/snapshot/errors.js';
import { MIGRATIONS, openDatabase, type Db } from '../src/storage/database.js';
import { ManualClock } from '../src/util/clock.js';
import { FakeNetwork } from './helpers/fake-ports.js';
import { tempDir } from './helpers/temp.js';

describe('first-format backups: a typed error, never a crash', function () {
  this.timeout(20_000);
  const keys = deriveBackupKeys(new Uint8Array(randomBytes(32)));
  const clock = new ManualClock();
  const dirs: string[] = [];
  const dbs: Db[] = [];
  after(() => {
    for (const db of dbs) db.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function engineOn(dataDir: string, network: FakeNetwork): Promise<BackupEngine> {
    const db = openDatabase(path.join(dataDir, 'peer.db'));
    dbs.push(db);
    const engine = new BackupEngine(network.ports(), db, dataDir, keys);
    await engine.init();
    return engine;
  }

  it('keeps a first-format snapshot through the schema migration, lists it, and refuses to restore it as LEGACY_SNAPSHOT', async () => {
    const dataDir = tempDir('dbs-legacy-');
    const hosts = tempDir('dbs-legacy-hosts-');
    dirs.push(dataDir, hosts);
    // A database as the first format left it (schema 2), with one snapshot.
    const old = new Database(path.join(dataDir, 'peer.db'));
    old.exec(MIGRATIONS[0]!);
    old.exec(MIGRATIONS[1]!);
    old.pragma('user_version = 2');
    old.prepare('INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run('20250101T000000Z-abcdef', 1, '/home/me', 3, 100, Buffer.alloc(32), 0, 10, Buffer.alloc(32));
    old.close();
    const engine = await engineOn(dataDir, new FakeNetwork(hosts, 3, clock));
    expect((await engine.snapshots()).map((s) => s.id)).to.deep.equal(['20250101T000000Z-abcdef']);
    const err = await engine.restore('20250101T000000Z-abcdef', path.join(dataDir, 'out')).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(SnapshotFormatError);
    expect((err as SnapshotFormatError).code).to.equal('LEGACY_SNAPSHOT');
    expect((err as Error).message).to.match(/first format/);
  });

  it('a new machine that finds a version-1 root record says so (LEGACY_SNAPSHOT)', async () => {
    const dataDir = tempDir('dbs-legacy-new-');
    const hosts = tempDir('dbs-legacy-hosts-');
    dirs.push(dataDir, hosts);
    const network = new FakeNetwork(hosts, 3, clock);
    const ref = { shard: null, offset: 0, length: 10, chunk: new Uint8Array(32) };
    network.root = { value: encodeRootRecord({ shard: new Uint8Array(32), size: 100, merkleRoot: new Uint8Array(32), catalog: ref, hosts: [], createdAt: 1 }), seq: 1 };
    const engine = await engineOn(dataDir, network);
    const err = await engine.snapshots().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(SnapshotFormatError);
    expect((err as SnapshotFormatError).code).to.equal('LEGACY_SNAPSHOT');
    // Garbage where the root record should be: MALFORMED, not a crash.
    network.root = { value: new Uint8Array([0xc1, 0x00]), seq: 2 };
    expect(((await engine.snapshots().catch((e: unknown) => e)) as SnapshotFormatError).code).to.equal('MALFORMED');
  });
});

describe('watched changes (pure: which paths the next backup lists)', () => {
  it('walks everything first, then hands over the paths seen, with a full walk every N backups', () => {
    const changes = new WatchedChanges(3, 100);
    expect(changes.take()).to.equal(null);
    changes.saw('a/b.txt');
    changes.saw('c');
    expect(changes.take()).to.deep.equal(['a/b.txt', 'c']);
    expect(changes.take()).to.deep.equal([]);
    changes.saw('d');
    // The third since the last full walk: a full walk.
    expect(changes.take()).to.equal(null);
    changes.saw('e');
    expect(changes.take()).to.deep.equal(['e']);
  });

  it('walks everything after an unnamed event, too many paths, or a failed backup', () => {
    const changes = new WatchedChanges(100, 2);
    changes.take();
    changes.saw(null);
    expect(changes.take()).to.equal(null);
    for (const p of ['a', 'b', 'c']) changes.saw(p);
    expect(changes.take()).to.equal(null);
    changes.saw('a');
    expect(changes.take()).to.deep.equal(['a']);
    changes.failed();
    expect(changes.take()).to.equal(null);
  });
});
