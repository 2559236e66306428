/**
 * The `dbs` command line end to end: real `dbs start` processes on 127.0.0.1, every other
 * command run as its own process, as a user would type it. Exit codes and messages are part
 * of the interface and are pinned here.
 */
import { expect } from 'chai';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startPeerProcess, stopPeerProcess, DEMO_TUNING } from '../src/cli/demo.js';
import { controlRequest } from '../src/control/client.js';
import { controlSocketPath } from '../src/cli/paths.js';
import type { SnapshotInfo } from '../src/backup/engine.js';
import type { ShardHealth } from '../src/backup/shard-health.js';
import type { WatchInfo } from '../src/cli/control-routes.js';
import { randomBytes } from 'node:crypto';
import { dbs, eventually } from './helpers/cli.js';
import { tempDir } from './helpers/peers.js';
import { describeTree, makeSampleTree } from './helpers/trees.js';

type PeerProcess = Awaited<ReturnType<typeof startPeerProcess>>;

const ARGS = ['--host', '127.0.0.1', '--port', '0', '--storage', '256MiB', '--tuning', JSON.stringify(DEMO_TUNING)];

/** No stack trace, one line, starting with "dbs:". */
function oneLineError(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).to.have.length(1);
  expect(stderr).to.not.match(/\n\s+at /);
  return lines[0]!;
}

describe('cli: dbs against running peer processes', function () {
  this.timeout(60_000);
  const work = tempDir('dbs-cli-');
  const peers: PeerProcess[] = [];
  let snapshot: SnapshotInfo;
  const source = path.join(work, 'source');

  before(async function () {
    this.timeout(60_000);
    peers.push(await startPeerProcess('p1', path.join(work, 'p1'), ARGS));
    peers.push(...(await Promise.all([2, 3, 4].map((i) => startPeerProcess(`p${i}`, path.join(work, `p${i}`), [...ARGS, '--bootstrap', peers[0]!.address])))));
    mkdirSync(source);
    makeSampleTree(source, 1);
  });

  after(async function () {
    this.timeout(30_000);
    await Promise.all(peers.map(stopPeerProcess));
    rmSync(work, { recursive: true, force: true });
  });

  const data = (i: number) => ['--data', peers[i]!.dataDir];

  it('status --json describes the running peer', async () => {
    const r = await dbs(['status', '--json', ...data(0)]);
    expect(r.code, r.stderr).to.equal(0);
    const status = JSON.parse(r.stdout) as { address: string; publicKey: string; storage: { offered: number }; dataDir: string };
    expect(status.address).to.equal(peers[0]!.address);
    expect(status.publicKey).to.equal(peers[0]!.publicKey);
    expect(status.storage.offered).to.equal(256 * 2 ** 20);
    const human = await dbs(['status', ...data(0)]);
    expect(human.stdout).to.contain(`address    ${peers[0]!.address}`);
  });

  it('key prints the recovery key from the data directory', async () => {
    const r = await dbs(['key', ...data(0)]);
    expect(r.code).to.equal(0);
    const key = readFileSync(path.join(peers[0]!.dataDir, 'identity.key'), 'utf8').trim();
    expect(r.stdout.split('\n')[0]).to.equal(key);
    expect(JSON.parse((await dbs(['key', '--json', ...data(0)])).stdout)).to.deep.equal({ recoveryKey: key });
    const printedAtStart = readFileSync(path.join(peers[0]!.dataDir, 'terminal.log'), 'utf8');
    expect(printedAtStart).to.contain(key).and.to.contain('ONLY way to restore');
  });

  it('backup makes a snapshot on 3 hosts and reports progress on stderr', async () => {
    const r = await dbs(['backup', source, '--replicas', '3', ...data(0)]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^snapshot \S+\n/);
    expect(r.stderr).to.match(/^backup: .* of .*MiB/m);
    const list = JSON.parse((await dbs(['snapshots', '--json', ...data(0)])).stdout) as SnapshotInfo[];
    expect(list).to.have.length(1);
    snapshot = list[0]!;
    expect(r.stdout).to.contain(snapshot.id);
    expect(snapshot.source).to.equal(source);
    expect((await dbs(['snapshots', ...data(0)])).stdout).to.contain(snapshot.id);
  });

  it('a second backup with --json uploads nothing new', async () => {
    const r = await dbs(['backup', source, '--json', ...data(0)]);
    expect(r.code, r.stderr).to.equal(0);
    const result = JSON.parse(r.stdout) as { uploadedBytes: number; shortfall: number; files: number };
    expect(result.shortfall).to.equal(0);
    expect(result.files).to.equal(snapshot.files);
    expect(r.stderr).to.equal('');
    // Only the new snapshot's metadata shard is new data.
    expect(result.uploadedBytes).to.be.below(64 * 1024);
  });

  it('contracts, ledger and peers show where the shards live', async () => {
    const contracts = JSON.parse((await dbs(['contracts', '--json', ...data(0)])).stdout) as Array<{ role: string; state: string; shardHash: string; counterpart: string }>;
    const owned = contracts.filter((c) => c.role === 'owner' && c.state === 'active');
    const perShard = new Map<string, Set<string>>();
    for (const c of owned) perShard.set(c.shardHash, (perShard.get(c.shardHash) ?? new Set()).add(c.counterpart));
    expect(perShard.size).to.be.greaterThan(0);
    for (const hosts of perShard.values()) expect(hosts.size).to.equal(3);
    const hostKeys = new Set(peers.slice(1).map((p) => p.publicKey));
    for (const c of owned) expect(hostKeys.has(c.counterpart)).to.equal(true);

    const ledger = JSON.parse((await dbs(['ledger', '--json', ...data(0)])).stdout) as Array<{ counterpart: string; keptByThem: number }>;
    expect(ledger.filter((l) => l.keptByThem > 0)).to.have.length(3);
    const hostView = JSON.parse((await dbs(['contracts', '--json', ...data(1)])).stdout) as Array<{ role: string; counterpart: string }>;
    expect(hostView.every((c) => c.role === 'host' && c.counterpart === peers[0]!.publicKey)).to.equal(true);

    const known = JSON.parse((await dbs(['peers', '--json', ...data(0)])).stdout) as Array<{ address: string }>;
    expect(known.map((p) => p.address)).to.include.members(peers.slice(1).map((p) => p.address));
    expect((await dbs(['contracts', ...data(0)])).stdout).to.match(/^ID\s+ROLE\s+COUNTERPART/);
  });

  it('restore by ID prefix is byte-identical; --path restores one file', async () => {
    const dest = path.join(work, 'restored');
    const r = await dbs(['restore', snapshot.id.slice(0, -2), dest, ...data(0)]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`restored ${snapshot.files} files`);
    expect(describeTree(dest)).to.deep.equal(describeTree(source));

    const one = path.join(work, 'one');
    const single = await dbs(['restore', snapshot.id, one, '--path', 'docs/note.txt', '--json', ...data(0)]);
    expect(single.code, single.stderr).to.equal(0);
    expect(JSON.parse(single.stdout)).to.include({ files: 1 });
    expect(readFileSync(path.join(one, 'docs', 'note.txt'))).to.deep.equal(readFileSync(path.join(source, 'docs', 'note.txt')));
    expect(existsSync(path.join(one, 'changing.bin'))).to.equal(false);
  });

  it('check audits every host now', async () => {
    const r = await dbs(['check', '--json', ...data(0)]);
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout) as { audited: number; failed: number; cancelled: number };
    expect(report.audited).to.be.greaterThan(0);
    expect(report).to.include({ failed: 0, cancelled: 0 });
  });

  it('lookup finds a peer by public key and a node ID in the DHT', async () => {
    const r = await dbs(['lookup', peers[2]!.publicKey, ...data(0)]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`is at ${peers[2]!.address}`).and.to.contain('answered HELLO with that key');
    const status = JSON.parse((await dbs(['status', '--json', ...data(3)])).stdout) as { nodeId: string };
    const node = JSON.parse((await dbs(['lookup', status.nodeId, '--json', ...data(0)])).stdout) as { closest: Array<{ nodeId: string }> };
    expect(node.closest[0]!.nodeId).to.equal(status.nodeId);
  });

  it('errors are one line with their exit code', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['restore', 'nosuchsnapshot', path.join(work, 'x'), ...data(0)], 4, /^dbs: unknown snapshot nosuchsnapshot/],
      [['restore', snapshot.id, source, ...data(0)], 7, /^dbs: destination .* is not empty$/],
      [['restore', snapshot.id, path.join(work, 'y'), '--path', 'no/such', ...data(0)], 4, /^dbs: no path "no\/such" in snapshot/],
      [['backup', path.join(work, 'missing'), ...data(0)], 4, /^dbs: .*missing does not exist$/],
      [['lookup', 'xyz', ...data(0)], 2, /^dbs: an ID is a node ID/],
      [['status', '--data', path.join(work, 'nobody')], 3, /^dbs: no peer is running for .*nobody \(start one with: dbs start --data/],
      [['start', ...data(0), '--port', '0'], 3, /^dbs: a peer is already running for this data directory/],
      [['key', '--data', path.join(work, 'nobody')], 4, /^dbs: no identity in/],
    ];
    for (const [args, code, message] of cases) {
      const r = await dbs(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(code);
      expect(oneLineError(r.stderr), args.join(' ')).to.match(message);
    }
    // Usage errors come from the argument parser: exit 2, and a pointer to --help.
    for (const args of [['start', '--storage', '10XB', '--data', path.join(work, 'u')], ['frobnicate'], ['backup'], ['backup', work, '--erasure', '5/2']]) {
      const r = await dbs(args);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.stderr).to.match(/^error: /).and.to.contain('dbs --help');
    }
    expect((await dbs(['start', '--storage', '10XB', '--data', path.join(work, 'u')])).stderr).to.contain('"10XB" is not a size');
    expect(existsSync(path.join(work, 'u'))).to.equal(false);
    expect((await dbs(['backup', work, '--erasure', '5/2'])).stderr).to.contain('erasure scheme 5/2: need whole numbers with 1 <= K <= N');
  });

  it('a peer that nobody can reach says plainly that no peer accepted, and why', async () => {
    const lone = await startPeerProcess('lone', path.join(work, 'lone'), ARGS);
    try {
      const r = await dbs(['backup', source, '--data', lone.dataDir]);
      expect(r.code).to.equal(5);
      expect(r.stderr.trim().split('\n').at(-1)).to.equal('dbs: no peer accepted the backup: no other peer is known yet (check --bootstrap or --tracker, and that other peers are running)');
    } finally {
      await stopPeerProcess(lone);
    }
  });

  it('watch backs a folder up after changes settle', async () => {
    const folder = path.join(work, 'watched');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'a.txt'), 'first');
    const count = async () => (await controlRequest<SnapshotInfo[]>(controlSocketPath(peers[0]!.dataDir), 'GET', '/snapshots')).filter((s) => s.source === folder).length;
    const r = await dbs(['watch', folder, '--quiet', '200ms', ...data(0)]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`watching ${folder}`);
    // Watching starts with a backup; a change leads to another one.
    await eventually(async () => (await count()) === 1, 'the first watched backup');
    writeFileSync(path.join(folder, 'b.txt'), 'second');
    await eventually(async () => (await count()) === 2, 'the backup after a change');
    expect((await dbs(['watch', folder, ...data(0)])).stdout).to.contain('already watching');
  });

  it('watch --erasure codes the folder\'s shards K of N; watch and start refuse a bad scheme as a usage error', async () => {
    const folder = path.join(work, 'watched-coded');
    mkdirSync(folder);
    // Over two shards of data (1 MiB shards): the shard with the closing metadata stays whole, the others are coded.
    writeFileSync(path.join(folder, 'c.bin'), randomBytes(2.5 * 2 ** 20));
    const bad = await dbs(['watch', folder, '--erasure', '3/2', ...data(0)]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('erasure scheme 3/2');
    const badStart = await dbs(['start', '--erasure', '2', '--data', path.join(work, 'never')]);
    expect(badStart.code).to.equal(2);
    expect(badStart.stderr).to.contain('expected K/N');
    expect(existsSync(path.join(work, 'never'))).to.equal(false);
    // One peer and three hosts: 2/3 places all its pieces.
    const r = await dbs(['watch', folder, '--quiet', '200ms', '--erasure', '2/3', ...data(0)]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`watching ${folder}`).and.to.contain('(erasure 2/3)');
    const control = controlSocketPath(peers[0]!.dataDir);
    const watch = async () => (await controlRequest<WatchInfo[]>(control, 'GET', '/watches')).find((w) => w.path === folder);
    expect((await watch())?.scheme).to.equal('erasure 2/3');
    await eventually(async () => (await watch())?.lastSnapshot != null, 'the watched coded backup');
    const shards = await controlRequest<ShardHealth[]>(control, 'GET', '/shards');
    expect(shards.filter((h) => h.erasure?.k === 2 && h.erasure.n === 3 && h.live === 3), JSON.stringify(shards)).to.not.be.empty;
  });

  it('stop ends the peer cleanly and releases the data directory', async () => {
    const p = peers[3]!;
    const exited = new Promise<number | null>((resolve) => p.child.once('exit', (code) => resolve(code)));
    const r = await dbs(['stop', ...data(3)]);
    expect(r.code, r.stderr).to.equal(0);
    expect(await exited).to.equal(0);
    expect(existsSync(controlSocketPath(p.dataDir))).to.equal(false);
    expect(readFileSync(path.join(p.dataDir, 'terminal.log'), 'utf8')).to.match(/stopped\n$/);
    const log = readFileSync(path.join(p.dataDir, 'dbs.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string });
    expect(log.map((l) => l.event)).to.include.members(['started', 'stored', 'stopping', 'stopped']);
    expect((await dbs(['status', ...data(3)])).code).to.equal(3);
  });
});
