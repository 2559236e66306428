/**
 * Other I/O faults of real machines (issue 19), on real file systems:
 *
 * - a data directory on a read-only file system (a tmpfs the test mounts, then remounts
 *   read-only), or one that vanished (its path runs through a file): `dbs start` exits with
 *   one line and code 10, the same every time (a service manager sees no crash to restart);
 * - a running peer whose data directory is unmounted (umount -l) or deleted stops by itself
 *   with one line and code 10 (checked every 5 s, here 200 ms);
 * - a host whose shard cannot be read (the file replaced by a directory of the same name, so
 *   the kernel's read fails with EISDIR, the path a real EIO takes) answers the audit as
 *   failed (UNREADABLE), which the owner judges `lost`; the host keeps running;
 * - a damaged database (its header overwritten): `dbs start` names the file and the way back,
 *   and starting again from the recovery key on a new data directory recovers the backups from
 *   the network, byte for byte.
 */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, closeSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Peer } from '../../src/peer/peer.js';
import { DataDirError } from '../../src/peer/data-dir-errors.js';
import { judgeAudit } from '../../src/backup/audit-policy.js';
import { ExitCode } from '../../src/cli/errors.js';
import { randomFile } from '../helpers/host-harness.js';
import { dbs } from '../helpers/cli.js';
import { MiB, peerOptions, startPeers, stopAll, tempDir } from '../helpers/peers.js';
import { mountSmallFs, type SmallFs } from '../helpers/small-fs.js';
import { describeTree } from '../helpers/trees.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Runs `dbs start` on `dataDir` until it is listening, applies `fault`, and waits for it to exit by itself. */
function runUntilLost(dataDir: string, fault: () => void): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'start', '--data', dataDir, '--port', '0', '--tuning', JSON.stringify({ dataDirCheckMs: 200 })], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let faulted = false;
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (!faulted && stdout.includes('listening on')) {
      faulted = true;
      fault();
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => child.on('exit', (code) => {
    clearTimeout(timer);
    resolve({ code, stderr });
  }));
}

describe('faults: read-only and vanished data directories, unreadable shards, a damaged database', function () {
  this.timeout(120_000);
  const work = tempDir('dbs-io-faults-');
  let peers: Peer[] = [];
  afterEach(async () => {
    await stopAll(peers);
    peers = [];
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('dbs start on a read-only data directory, and on one that vanished: one line, exit code 10, every time', async function () {
    const small: SmallFs | string = mountSmallFs(8 * MiB);
    if (typeof small === 'string') return this.skip();
    try {
      const dataDir = path.join(small.dir, 'peer');
      mkdirSync(dataDir);
      execFileSync('mount', ['-o', 'remount,ro', small.dir], { stdio: 'pipe' });
      for (let i = 0; i < 2; i++) {
        const run = await dbs(['start', '--data', dataDir, '--port', '0']);
        expect(run.code).to.equal(ExitCode.dataDir);
        expect(run.stderr.trim().split('\n')).to.have.length(1);
        expect(run.stderr).to.include(`the data directory ${dataDir} is on a read-only file system`);
      }
      const err = await Peer.start(peerOptions({ dataDir })).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(DataDirError);
      expect((err as DataDirError).problem).to.equal('READ_ONLY');
    } finally {
      small.unmount();
    }
    // Vanished: the path runs through a file (the mount point is gone and a file is in its place).
    const gone = path.join(work, 'was-a-mount');
    writeFileSync(gone, '');
    const run = await dbs(['start', '--data', path.join(gone, 'peer'), '--port', '0']);
    expect(run.code).to.equal(ExitCode.dataDir);
    expect(run.stderr.trim().split('\n')).to.have.length(1);
    expect(run.stderr).to.include('vanished or is not a directory');
  });

  it('a running peer whose data directory is unmounted, or deleted, stops with one line and exit code 10', async function () {
    const small: SmallFs | string = mountSmallFs(8 * MiB);
    if (typeof small === 'string') return this.skip();
    try {
      // Unmounted under it (umount -l: open files stay, the path now shows the empty mount point).
      const unmounted = await runUntilLost(path.join(small.dir, 'peer'), () => execFileSync('umount', ['-l', small.dir], { stdio: 'pipe' }));
      expect(unmounted.code).to.equal(ExitCode.dataDir);
      expect(unmounted.stderr.trim().split('\n')).to.have.length(1);
      expect(unmounted.stderr).to.include(`the data directory ${path.join(small.dir, 'peer')} vanished or is not a directory (ENOENT`);
    } finally {
      rmSync(small.dir, { recursive: true, force: true });
    }
    const dir = path.join(work, 'deleted-peer');
    const deleted = await runUntilLost(dir, () => rmSync(dir, { recursive: true, force: true }));
    expect(deleted.code).to.equal(ExitCode.dataDir);
    expect(deleted.stderr.trim().split('\n')).to.have.length(1);
    expect(deleted.stderr).to.include(`the data directory ${dir} vanished`);
  });

  it('a host whose shard file cannot be read answers the audit as failed (UNREADABLE) and keeps running', async () => {
    peers = await startPeers(2);
    const [owner, host] = peers as [Peer, Peer];
    const { file } = randomFile(work, 2 * MiB + 5);
    const placed = await owner.placeShard(file, { replicas: 1 });
    const contract = placed.contracts[0]!;
    expect((await owner.audit(contract)).passed).to.equal(true);
    // The shard file becomes something the kernel cannot read as one (read(2) fails: EISDIR).
    const shardFile = host.shards.shardPath(placed.hash);
    rmSync(shardFile);
    mkdirSync(shardFile);
    const outcome = await owner.audit(contract);
    expect(outcome.passed).to.equal(false);
    expect(outcome.failure).to.equal('UNREADABLE');
    expect(judgeAudit(outcome)).to.equal('lost');
    // Still running and answering.
    expect((await owner.hello(host.address)).publicKey).to.deep.equal(host.publicKey);
    expect((await owner.audit(contract)).failure).to.equal('UNREADABLE');
  });

  it('a damaged database: dbs start names the file and the way back; the recovery key on a new data directory recovers the backups', async () => {
    peers = await startPeers(3);
    const dataDir = path.join(work, 'owner');
    let owner = await Peer.start(peerOptions({ dataDir, bootstrap: [peers[0]!.address] }));
    const key = owner.recoveryKey;
    const source = path.join(work, 'src');
    mkdirSync(path.join(source, 'sub'), { recursive: true });
    writeFileSync(path.join(source, 'a.bin'), randomBytes(1536 * 1024));
    writeFileSync(path.join(source, 'sub', 'b.txt'), 'kept\n');
    const result = await owner.backup(source, { replicas: 2 });
    expect(result.shortfall).to.equal(0);
    await owner.stop();

    // The first 100 bytes (the SQLite header) overwritten, as a bad sector or a stray write would.
    const db = path.join(dataDir, 'peer.db');
    const fd = openSync(db, 'r+');
    writeSync(fd, randomBytes(100), 0, 100, 0);
    closeSync(fd);
    rmSync(`${db}-wal`, { force: true });
    rmSync(`${db}-shm`, { force: true });
    const run = await dbs(['start', '--data', dataDir, '--port', '0']);
    expect(run.code).to.equal(ExitCode.dataDir);
    const lines = run.stderr.trim().split('\n');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include(`the database ${db} is damaged`);
    expect(lines[0]).to.include('dbs start --data NEW --recover KEY');

    // The way back: a new data directory and the recovery key.
    owner = await Peer.start(peerOptions({ dataDir: path.join(work, 'owner-new'), recoveryKey: key, bootstrap: [peers[0]!.address] }));
    peers.push(owner);
    const snapshots = await owner.snapshots();
    expect(snapshots.map((s) => s.id)).to.deep.equal([result.id]);
    const dest = path.join(work, 'restored');
    expect((await owner.restore(result.id, dest)).incomplete).to.deep.equal([]);
    expect(describeTree(dest)).to.deep.equal(describeTree(source));
  });
});
