/**
 * Full disks, owner side, during a backup (issue 19): the owner's data directory (outbox,
 * local shard copies, SQLite) sits on a small real tmpfs mounted by the test, and another
 * program has filled most of it. The backup stops with one typed line (exit code 9), leaves
 * the database whole and nothing half-written under a real name, and the next backup succeeds
 * once there is room, reusing what was stored.
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Peer } from '../../src/peer/peer.js';
import { BackupDiskFullError, asBackupError } from '../../src/backup/backup-space.js';
import { classify, ExitCode } from '../../src/cli/errors.js';
import { MiB, peerOptions, startPeers, stopAll, tempDir } from '../helpers/peers.js';
import { mountSmallFsOrSkip, type SmallFs } from '../helpers/small-fs.js';
import { describeTree } from '../helpers/trees.js';

/** Every file under `dir`, relative paths. */
function walk(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? walk(p, base) : [path.relative(base, p)];
  });
}

describe('faults: a full disk on the owner side (backup)', function () {
  this.timeout(120_000);
  let fsys: SmallFs | null = null;
  let peers: Peer[] = [];
  const work = tempDir('dbs-owner-full-');

  before(function () {
    fsys = mountSmallFsOrSkip(this, 24 * MiB);
  });
  after(async () => {
    await stopAll(peers);
    fsys?.unmount();
    rmSync(work, { recursive: true, force: true });
  });

  it('stops with one line and exit code 9, the database whole, no partial shard under a real name; the next backup succeeds once there is room', async () => {
    const small = fsys!;
    peers = await startPeers(3, { backup: { shardSize: MiB } });
    const dataDir = path.join(small.dir, 'owner');
    const options = peerOptions({ dataDir, bootstrap: [peers[0]!.address], backup: { shardSize: MiB } });
    let owner = await Peer.start(options);
    const source = path.join(work, 'src');
    mkdirSync(source);
    for (let i = 0; i < 12; i++) writeFileSync(path.join(source, `f${i}.bin`), randomBytes(MiB));
    // Room for about 5 of the 12+ shards' local copies.
    const filler = small.fill(5 * MiB);

    const err = await owner.backup(source, { replicas: 2 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(BackupDiskFullError);
    const e = err as BackupDiskFullError;
    expect(e.code).to.equal('DISK_FULL');
    expect(e.message).to.not.include('\n');
    expect(e.message).to.match(/^the disk holding .*owner is full, so the backup stopped/);
    const cli = classify(e);
    expect(cli.exitCode).to.equal(ExitCode.diskFull);
    expect(cli.message).to.equal(e.message);
    expect(await owner.snapshots()).to.deep.equal([]);

    // Nothing half-written under a real name: every local shard copy is a placed shard of the right size, nothing in the outbox or tmp.
    const contracts = owner.contracts().filter((c) => c.role === 'owner' && c.state === 'active');
    const placed = walk(path.join(dataDir, 'backup', 'shards'));
    expect(placed.length, 'shards placed before the disk filled').to.be.at.least(1);
    for (const name of placed) {
      const c = contracts.find((x) => x.shardHash === name);
      expect(c, name).to.not.equal(undefined);
      expect(statSync(path.join(dataDir, 'backup', 'shards', name)).size).to.equal(c!.size);
    }
    expect(walk(path.join(dataDir, 'backup', 'outbox'))).to.deep.equal([]);
    expect(walk(path.join(dataDir, 'backup', 'tmp'))).to.deep.equal([]);

    // The database is whole (SQLite's own check), also after a restart on the still-full disk.
    await owner.stop();
    const db = new Database(path.join(dataDir, 'peer.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).to.equal('ok');
    db.close();
    owner = await Peer.start(options);
    peers.push(owner);

    // Room again: the same backup completes, reusing the shards stored before, and restores byte for byte.
    rmSync(filler);
    const result = await owner.backup(source, { replicas: 2 });
    expect(result.shortfall).to.equal(0);
    expect(result.uploadedBytes).to.be.lessThan(12 * MiB);
    const dest = path.join(work, 'restored');
    const restored = await owner.restore(result.id, dest);
    expect(restored.incomplete).to.deep.equal([]);
    expect(describeTree(dest)).to.deep.equal(describeTree(source));
  });

  it("SQLite's own SQLITE_FULL on a full disk is the same typed error", () => {
    const small = fsys!;
    const file = path.join(small.dir, 'full.db');
    const db = new Database(file);
    db.exec('CREATE TABLE t (b BLOB)');
    const filler = small.fill(0, 'filler-db');
    let caught: unknown = null;
    try {
      const insert = db.prepare('INSERT INTO t VALUES (?)');
      for (let i = 0; i < 64; i++) insert.run(randomBytes(64 * 1024));
    } catch (err) {
      caught = err;
    }
    expect((caught as { code?: string }).code).to.equal('SQLITE_FULL');
    const typed = asBackupError(caught, small.dir);
    expect(typed).to.be.instanceOf(BackupDiskFullError);
    expect(classify(typed).exitCode).to.equal(ExitCode.diskFull);
    db.close();
    rmSync(filler);
    rmSync(file, { force: true });
  });
});
