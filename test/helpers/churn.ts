/**
 * The churn scenario, shared by test/faults/churn.test.ts (which checks the outcome) and
 * bench/faults.ts (which reports how long repair took):
 *
 * 1. `peers` processes on 127.0.0.1 (one owner, the rest hosts); the owner backs up `files`
 *    files with replicas = 3 (small shards, so there are many).
 * 2. `kills` times: SIGKILL a random host that holds replicas; the owner's next pass finds it
 *    unreachable; every clock moves past the grace period; the owner's passes cancel its
 *    contracts and place new replicas until every shard it keeps has 3 live ones again
 *    (counted on hosts that are running). `restarts` of the killed hosts come back, on the
 *    same host:port and data dir, some time later.
 * 3. The owner's machine is lost (SIGKILL); a new one with only the recovery key lists the
 *    snapshots and restores them from the hosts.
 *
 * Clocks: each process runs on real time plus an offset (peer-child.ts `advance`), moved
 * forward for all at once, so the grace period passes without waiting while timeouts on
 * the wire stay real.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ContractInfo } from '../../src/contracts/service.js';
import { seededRandom } from './faulty-transport.js';
import { PeerProcess, type PeerChildConfig } from './peer-process.js';
import { GiB, tempDir } from './peers.js';
import { describeTree, type Described } from './trees.js';

export interface ChurnSize {
  peers: number;
  files: number;
  kills: number;
  restarts: number;
  seed: number;
}

/** The CI form: a few minutes at most on 2 loaded cores. */
export const CHURN_FAST: ChurnSize = { peers: 10, files: 6, kills: 2, restarts: 1, seed: 7 };
/** The size: 20 peers, 30 files, 8 hosts killed (40% of the network), 3 restarted. */
export const CHURN_LONG: ChurnSize = { peers: 20, files: 30, kills: 8, restarts: 3, seed: 7 };

export const REPLICAS = 3;
/** How long a host may stay silent before its contracts go (virtual: clocks are moved past it). */
export const GRACE_MS = 60_000;
const MAX_REPAIR_PASSES = 8;

export interface KillReport {
  host: string;
  /** Live replicas the owner had on it. */
  lostReplicas: number;
  /** Replicas the owner placed again in the passes after the grace period. */
  replaced: number;
  /** Wall time of the owner's passes after the grace period, until every shard had 3 again. */
  repairSeconds: number;
  passes: number;
  /** The owner's RPC requests that timed out in those passes (asking the dead host, mostly). */
  timeouts: number;
  restarted: boolean;
}

export interface ChurnResult {
  size: ChurnSize;
  files: number;
  bytes: number;
  /** Shards the owner keeps (data, metadata, catalog) after the backup. */
  shards: number;
  kills: KillReport[];
  /** Shards below 3 live replicas on running hosts at the end (should be none). */
  underReplicated: string[];
  restoredFiles: number;
  incomplete: string[];
  expected: Described[];
  restored: Described[];
}

/** Peer settings: small chunks and shards, audits on every pass, a grace period the test skips. */
function baseConfig(dataDir: string, bootstrap: string[]): PeerChildConfig {
  return {
    dataDir,
    storage: GiB,
    bootstrap,
    // Every process shares 127.0.0.0/24: the per-prefix allowance would stop the owner early.
    allowance: 1024 * GiB,
    // Dead hosts must cost little, but a loaded machine must not make a live one look dead.
    dht: { lookupTimeoutMs: 1500, requestTimeoutMs: 1500, retries: 1 },
    backup: { shardSize: 256 * 1024, chunkSizes: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }, hostGraceMs: GRACE_MS },
    contracts: { auditIntervalSeconds: 0, auditSamples: 16 },
  };
}

function writeFiles(dir: string, count: number, random: () => number): number {
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const sub = path.join(dir, `d${i % 3}`);
    mkdirSync(sub, { recursive: true });
    const size = 4096 + Math.floor(random() * 300 * 1024);
    const file = path.join(sub, `file-${String(i).padStart(2, '0')}.bin`);
    writeFileSync(file, randomBytes(size));
    utimesSync(file, 1_600_000_000 + i, 1_600_000_000 + i);
    bytes += size;
  }
  for (let i = 0; i < 3; i++) utimesSync(path.join(dir, `d${i}`), 1_600_000_000, 1_600_000_000);
  return bytes;
}

/**
 * Runs the scenario; `log` gets a line per step. Processes left running on error are the
 * caller's to stop (stopAllProcesses); the temp dir is removed at the end either way.
 */
export async function runChurn(size: ChurnSize, log: (line: string) => void = () => {}): Promise<ChurnResult> {
  const random = seededRandom(size.seed);
  const root = tempDir('dbs-churn-');
  try {
    const source = path.join(root, 'source');
    const bytes = writeFiles(source, size.files, random);
    let offset = 0;

    const owner = await PeerProcess.start('owner', baseConfig(path.join(root, 'owner'), []));
    const hosts: PeerProcess[] = [];
    for (let i = 1; i < size.peers; i++) hosts.push(await PeerProcess.start(`host${i}`, baseConfig(path.join(root, `host${i}`), [owner.address])));
    log(`${size.peers} peers up; backing up ${size.files} files (${(bytes / 2 ** 20).toFixed(1)} MiB), replicas ${REPLICAS}`);

    const backup = await owner.ask<{ id: string; shortfall: number }>({ cmd: 'backup', path: source, replicas: REPLICAS });
    if (backup.shortfall !== 0) throw new Error(`the backup is short of ${backup.shortfall} replicas before any host died`);
    const shards = (await owner.ask<unknown[]>({ cmd: 'backupShards' })).length;
    log(`backup ${backup.id}: ${shards} shards`);

    const alive = () => hosts.filter((h) => h.alive);
    const liveContracts = async () => (await owner.ask<ContractInfo[]>({ cmd: 'contracts' })).filter((c) => c.role === 'owner' && (c.state === 'active' || c.state === 'pending'));
    /** Shards of the owner's index with fewer than REPLICAS active contracts on running hosts. */
    const underReplicated = async (): Promise<string[]> => {
      const running = new Set(alive().map((h) => h.address));
      const contracts = await liveContracts();
      const index = await owner.ask<{ hash: string; replicas: number }[]>({ cmd: 'backupShards' });
      return index
        .filter((s) => contracts.filter((c) => c.shardHash === s.hash && c.state === 'active' && running.has(c.counterpartAddress ?? '')).length < s.replicas)
        .map((s) => s.hash);
    };
    const advanceAll = async (ms: number) => {
      offset += ms;
      await Promise.all([owner, ...alive()].map((p) => p.ask({ cmd: 'advance', ms })));
    };

    const kills: KillReport[] = [];
    let restartsLeft = size.restarts;
    for (let k = 0; k < size.kills; k++) {
      const contracts = await liveContracts();
      const holding = alive().filter((h) => contracts.some((c) => c.counterpartAddress === h.address));
      const pool = holding.length > 0 ? holding : alive();
      const victim = pool[Math.floor(random() * pool.length)]!;
      const lostReplicas = contracts.filter((c) => c.counterpartAddress === victim.address).length;
      await victim.kill('SIGKILL');
      // Within the grace period a silent host keeps its contracts: the pass only notes it.
      const noticed = await owner.ask<{ cancelled: number }>({ cmd: 'repair' });
      if (noticed.cancelled !== 0) throw new Error(`a host silent for less than the grace period lost ${noticed.cancelled} contracts`);
      await advanceAll(GRACE_MS + 1000);

      const timeouts = async () => (await owner.ask<{ dht: { timeouts: number } }>({ cmd: 'status' })).dht.timeouts;
      const timeouts0 = await timeouts();
      const t0 = performance.now();
      let replaced = 0;
      let passes = 0;
      let missing = await underReplicated();
      while (missing.length > 0 && passes < MAX_REPAIR_PASSES) {
        passes++;
        replaced += (await owner.ask<{ replaced: number }>({ cmd: 'repair' })).replaced;
        missing = await underReplicated();
      }
      const repairSeconds = (performance.now() - t0) / 1000;
      const repairTimeouts = (await timeouts()) - timeouts0;
      if (missing.length > 0) throw new Error(`after ${passes} repair passes, ${missing.length} shards still have fewer than ${REPLICAS} live replicas`);

      let restarted = false;
      if (restartsLeft > 0 && (k % 2 === 0 || size.kills - k <= restartsLeft)) {
        // Back after its contracts were moved: on the same address, with the old shards on disk.
        const again = await victim.restart({ clockOffsetMs: offset, bootstrap: [owner.address] });
        hosts[hosts.indexOf(victim)] = again;
        restartsLeft--;
        restarted = true;
      }
      kills.push({ host: victim.name, lostReplicas, replaced, repairSeconds, passes, timeouts: repairTimeouts, restarted });
      log(`kill ${k + 1}/${size.kills}: ${victim.name} held ${lostReplicas} replicas; ${replaced} placed again in ${passes} passes, ${repairSeconds.toFixed(1)} s, ${repairTimeouts} timeouts${restarted ? '; restarted' : ''}`);
    }
    const under = await underReplicated();

    // The owner's machine is lost: a new one with the recovery key only, and an empty disk.
    const recoveryKey = owner.recoveryKey;
    await owner.kill('SIGKILL');
    const fresh = await PeerProcess.start('owner-new', { ...baseConfig(path.join(root, 'owner-new'), [alive()[0]!.address]), recoveryKey, clockOffsetMs: offset });
    const snapshots = await fresh.ask<{ id: string }[]>({ cmd: 'snapshots' });
    if (!snapshots.some((s) => s.id === backup.id)) throw new Error(`the new machine did not find snapshot ${backup.id}`);
    const dest = path.join(root, 'restored');
    const restore = await fresh.ask<{ files: number; incomplete: string[] }>({ cmd: 'restore', snapshot: backup.id, dest });
    log(`new machine restored ${restore.files} files, ${restore.incomplete.length} incomplete`);
    const result: ChurnResult = {
      size,
      files: size.files,
      bytes,
      shards,
      kills,
      underReplicated: under,
      restoredFiles: restore.files,
      incomplete: restore.incomplete,
      expected: describeTree(source),
      restored: describeTree(dest),
    };
    await Promise.all([fresh, ...alive()].map((p) => p.stop()));
    return result;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
