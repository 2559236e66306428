/**
 * `dbs demo`: a whole backup network on this machine, one process per peer, each a real
 * `dbs start` talking UDP and TCP on 127.0.0.1. Backs up a sample folder with 3 replicas,
 * shows where the shards live, SIGKILLs two hosts, lets the owner audit and repair, restores
 * from the hosts alone and checks the result byte for byte. Fast settings (1 MiB shards,
 * audits on demand, no grace period) make it finish in seconds; everything shown is measured.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlRequest } from '../control/client.js';
import type { ContractInfo } from '../contracts/service.js';
import type { BackupProgress, BackupResult, RestoreProgress, RestoreResult } from '../backup/engine.js';
import type { PeerStatus } from '../peer/peer.js';
import { controlSocketPath } from './paths.js';
import { progressView } from './progress.js';
import { table } from './render.js';
import { formatBytes, formatDuration } from './units.js';
import { makeSampleFolder, sameTree } from './demo-sample.js';
import { PEER_NODE_FLAGS } from './node-flags.js';
import { CLI_DEFAULTS } from './defaults.js';

const MiB = 2 ** 20;

/** Library settings for a network that must show audits and repair within seconds. */
export const DEMO_TUNING = {
  dht: { maxPerIpPerBucket: 1e9, rateLimit: null, lookupTimeoutMs: 500, requestTimeoutMs: 300, retries: 1 },
  backup: { shardSize: 1 * MiB, chunkSizes: { min: 32 * 1024, avg: 128 * 1024, max: 512 * 1024 }, hostGraceMs: 0 },
  contracts: { auditIntervalSeconds: 0, auditSamples: 16 },
  maintenanceIntervalMs: 3_600_000,
};

interface DemoPeer {
  name: string;
  dataDir: string;
  child: ChildProcess;
  address: string;
  publicKey: string;
}

const CLI = fileURLToPath(new URL('./main.js', import.meta.url));

async function waitForPeer(dataDir: string, child: ChildProcess, logFile: string, timeoutMs: number = CLI_DEFAULTS.peerStartTimeoutMs): Promise<PeerStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`a peer exited at start (code ${child.exitCode}): ${readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ')}`);
    try {
      return await controlRequest<PeerStatus>(controlSocketPath(dataDir), 'GET', '/status');
    } catch (err) {
      // Not listening yet is the expected answer until it is; the last one is kept for the timeout's message.
      if (Date.now() > deadline) throw new Error(`a peer did not start within ${timeoutMs / 1000} s (last answer: ${(err as Error).message}; see ${logFile})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Starts `dbs start` in a child process; its terminal output goes to `terminal.log` beside its data. */
export async function startPeerProcess(name: string, dataDir: string, args: string[]): Promise<DemoPeer> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const logFile = path.join(dataDir, 'terminal.log');
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...PEER_NODE_FLAGS, CLI, 'start', '--data', dataDir, ...args], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  try {
    const status = await waitForPeer(dataDir, child, logFile);
    return { name, dataDir, child, address: status.address, publicKey: status.publicKey };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

/** Stops a peer started by `startPeerProcess` (SIGTERM, SIGKILL after CLI_DEFAULTS.peerStopTimeoutMs); resolves with its exit code. */
export async function stopPeerProcess(p: { child: ChildProcess }): Promise<number | null> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), CLI_DEFAULTS.peerStopTimeoutMs);
  const code = await exited(p.child);
  clearTimeout(timer);
  return code;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export async function runDemo(options: { peers: number; keep: boolean; print: (line: string) => void }): Promise<void> {
  const { print } = options;
  if (options.peers < 5) throw new RangeError('the demo needs at least 5 peers (3 replicas, 2 of them killed)');
  const work = mkdtempSync(path.join(os.tmpdir(), 'dbs-demo-'));
  const peers: DemoPeer[] = [];
  const started = Date.now();
  const steps: Array<[string, string, string]> = [];
  const step = (name: string, t0: number, detail: string) => steps.push([name, formatDuration(Date.now() - t0), detail]);
  const ask = <T>(peer: DemoPeer, method: 'GET' | 'POST', route: string, body?: unknown, onProgress?: (p: unknown) => void) =>
    controlRequest<T>(controlSocketPath(peer.dataDir), method, route, body, onProgress);
  try {
    let t = Date.now();
    print(`Starting ${options.peers} peers, each a separate \`dbs start\` process on 127.0.0.1 (data and logs in ${work})`);
    const tuning = JSON.stringify(DEMO_TUNING);
    const common = ['--host', '127.0.0.1', '--port', '0', '--storage', '256MiB', '--tuning', tuning];
    peers.push(await startPeerProcess('peer-1', path.join(work, 'peer-1'), common));
    const rest = await Promise.all(
      Array.from({ length: options.peers - 1 }, (_, i) => startPeerProcess(`peer-${i + 2}`, path.join(work, `peer-${i + 2}`), [...common, '--bootstrap', peers[0]!.address])),
    );
    peers.push(...rest);
    const byKey = new Map(peers.map((p) => [p.publicKey, p]));
    print(table(['PEER', 'PID', 'ADDRESS', 'PUBLIC KEY'], peers.map((p) => [p.name, p.child.pid ?? 0, p.address, `${p.publicKey.slice(0, 16)}...`])));
    step('start peers', t, `${peers.length} processes`);

    const owner = peers[0]!;
    const source = path.join(work, 'my-files');
    mkdirSync(source);
    makeSampleFolder(source);
    print(`\n$ dbs backup ${source} --replicas 3 --data ${owner.dataDir}`);
    t = Date.now();
    const view = progressView('backup', process.stdout);
    let snap: BackupResult;
    try {
      snap = await ask<BackupResult>(owner, 'POST', '/backup', { path: source, replicas: 3 }, (p) => {
        const pr = p as BackupProgress;
        view.update(pr.bytes, 0, `${pr.files} files, ${formatBytes(pr.uploadedBytes)} uploaded (${pr.phase})`);
      });
    } finally {
      view.stop();
    }
    print(`snapshot ${snap.id}: ${snap.files} files, ${formatBytes(snap.bytes)} in ${snap.shards} encrypted shards${snap.shortfall ? `, ${snap.shortfall} replicas short` : ''}`);
    step('backup', t, `${snap.files} files, ${formatBytes(snap.bytes)}, ${snap.shards} shards x 3`);

    const placement = async () => {
      const contracts = await ask<ContractInfo[]>(owner, 'GET', '/contracts');
      const live = contracts.filter((c) => c.role === 'owner' && (c.state === 'active' || c.state === 'pending'));
      const byShard = new Map<string, string[]>();
      for (const c of live) byShard.set(c.shardHash, [...(byShard.get(c.shardHash) ?? []), byKey.get(c.counterpart)?.name ?? c.counterpart.slice(0, 8)]);
      print(table(['SHARD', 'SIZE', 'HOSTS'], [...byShard].map(([shard, hosts]) => [shard.slice(0, 12), formatBytes(live.find((c) => c.shardHash === shard)!.size), hosts.sort().join(', ')])));
      return { live, byShard };
    };
    print('\nWhere the shards live ($ dbs contracts):');
    const before = await placement();

    // The two hosts holding the most of peer-1's shards die without a word.
    const load = new Map<string, number>();
    for (const c of before.live) load.set(c.counterpart, (load.get(c.counterpart) ?? 0) + 1);
    const victims = [...load].sort((a, b) => b[1] - a[1]).slice(0, 2).map(([key]) => byKey.get(key)!).filter(Boolean);
    t = Date.now();
    for (const v of victims) {
      v.child.kill('SIGKILL');
      await exited(v.child);
    }
    const lost = before.live.filter((c) => victims.some((v) => v.publicKey === c.counterpart)).length;
    print(`\nKilled ${victims.map((v) => `${v.name} (pid ${v.child.pid})`).join(' and ')} with SIGKILL: ${lost} replicas gone.`);
    print(`$ dbs check --data ${owner.dataDir}`);
    let replaced = 0;
    let audited = 0;
    for (let round = 0; round < 3; round++) {
      const r = await ask<{ audited: number; failed: number; cancelled: number; replaced: number }>(owner, 'POST', '/check');
      print(`audited ${r.audited} contracts: ${r.cancelled} cancelled (hosts gone), ${r.replaced} new replicas placed`);
      replaced += r.replaced;
      audited += r.audited;
      const active = new Map<string, number>();
      for (const c of await ask<ContractInfo[]>(owner, 'GET', '/contracts')) {
        if (c.role === 'owner' && c.state === 'active') active.set(c.shardHash, (active.get(c.shardHash) ?? 0) + 1);
      }
      if ([...active.values()].every((n) => n >= 3)) break;
    }
    step('repair', t, `${lost} replicas lost, ${replaced} re-created, ${audited} audits`);
    print('\nAfter the repair:');
    await placement();

    // peer-1 keeps local copies of its shards; set them aside so every byte comes from hosts.
    const own = path.join(owner.dataDir, 'backup', 'shards');
    for (const f of readdirSync(own)) rmSync(path.join(own, f), { force: true });
    const dest = path.join(work, 'restored');
    print(`\n$ dbs restore ${snap.id} ${dest} --data ${owner.dataDir}   (local shard copies removed: everything comes from hosts)`);
    t = Date.now();
    const rview = progressView('restore', process.stdout);
    let restored: RestoreResult;
    try {
      restored = await ask<RestoreResult>(owner, 'POST', '/restore', { snapshot: snap.id, dest }, (p) => {
        const pr = p as RestoreProgress;
        rview.update(pr.bytes, pr.totalBytes, `${pr.files} files`);
      });
    } finally {
      rview.stop();
    }
    const identical = restored.incomplete.length === 0 && sameTree(source, dest);
    print(`restored ${restored.files} files, ${formatBytes(restored.bytes)}; incomplete: ${restored.incomplete.length ? restored.incomplete.join(', ') : 'none'}`);
    print(`byte-for-byte identical to the original (content, modes, mtimes, links): ${identical ? 'yes' : 'NO'}`);
    step('restore', t, identical ? 'identical' : 'DIFFERENT');

    print('\nSummary');
    print(table(['STEP', 'TIME', 'RESULT'], [...steps, ['total', formatDuration(Date.now() - started), `${peers.length} peers, ${victims.length} killed`]]));
    if (!identical) throw new Error('the restored folder differs from the original');
    if (replaced < lost) throw new Error(`only ${replaced} of ${lost} lost replicas were re-created`);
  } finally {
    await Promise.all(peers.map(stopPeerProcess));
    if (options.keep) print(`\nKept ${work} (each peer's dbs.log and terminal.log are in its folder).`);
    else rmSync(work, { recursive: true, force: true });
  }
}
