/**
 * The soak scenario (issue 19), for test/faults/soak.test.ts: `peers` processes on 127.0.0.1
 * for `hours` simulated hours, clocks moved together an hour at a time (peer-child.ts
 * `advance`, as churn.ts does). Each hour every owner changes one file and backs up, then every
 * running peer runs its maintenance pass (contracts, audits, repair, records). Every
 * `churnEveryHours` a host that is not an owner is killed (SIGKILL) and restarted on the same
 * address some hours later: alternately within the grace period (its contracts are kept) and
 * past it (its contracts are cancelled and repaired elsewhere).
 *
 * Sampled every hour, per process: RSS and heap after a full collection, open descriptors
 * (/proc/PID/fd), database bytes (peer.db + WAL), contracts by role and state, shard files.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ContractInfo } from '../../src/contracts/service.js';
import { seededRandom } from './faulty-transport.js';
import { PeerProcess, type PeerChildConfig } from './peer-process.js';
import { GiB, tempDir } from './peers.js';

export interface SoakSize {
  peers: number;
  owners: number;
  hours: number;
  replicas: number;
  churnEveryHours: number;
  seed: number;
}

/** The CI form: 5 peers, 1 simulated day. */
export const SOAK_FAST: SoakSize = { peers: 5, owners: 2, hours: 24, replicas: 2, churnEveryHours: 6, seed: 11 };
/**
 * Between the two (DBS_FAULTS=medium): the week's network (10 peers, 3 owners, 3 replicas) for 2
 * simulated days; about 5 min of CPU, where the week takes about 45 min.
 */
export const SOAK_MEDIUM: SoakSize = { peers: 10, owners: 3, hours: 48, replicas: 3, churnEveryHours: 6, seed: 11 };
/** The issue's size: 10 peers, a simulated week (DBS_FAULTS=long, part of `npm run test:faults`). */
export const SOAK_LONG: SoakSize = { peers: 10, owners: 3, hours: 168, replicas: 3, churnEveryHours: 6, seed: 11 };

const HOUR = 3_600_000;
/** Virtual: a host away longer than this loses its contracts (alternate kills stay away 2 h and 4 h). */
export const SOAK_GRACE_MS = 3 * HOUR;
/** Files per owner's folder, and the size of each (one changes every hour). */
const FILES = 12;
const FILE_BYTES = 48 * 1024;

export interface Sample {
  hour: number;
  name: string;
  rss: number;
  heapUsed: number;
  /** Off the JS heap: Buffers and other external memory V8 knows of (what RSS holds beyond the heap and native allocations). */
  external: number;
  fds: number;
  /** peer.db, and its write-ahead log apart (SQLite reuses the WAL file: its size is a high-water mark). */
  dbBytes: number;
  walBytes: number;
  /** Live (pending or active) contracts by role, and every row the database holds. */
  ownerLive: number;
  hostLive: number;
  contractRows: number;
  shardFiles: number;
  /** Owners: shards in their backup index and the replicas they want in total. */
  indexShards: number;
  wantedReplicas: number;
}

export interface SoakResult {
  size: SoakSize;
  samples: Sample[];
  backups: number;
  shortBackups: number;
  kills: number;
}

function config(dataDir: string, bootstrap: string[]): PeerChildConfig {
  return {
    dataDir,
    storage: GiB,
    bootstrap,
    allowance: 1024 * GiB,
    dht: { lookupTimeoutMs: 1500, requestTimeoutMs: 1500, retries: 1 },
    backup: { shardSize: 256 * 1024, chunkSizes: { min: 16 * 1024, avg: 32 * 1024, max: 64 * 1024 }, hostGraceMs: SOAK_GRACE_MS },
    progressEveryMs: 3_600_000,
  };
}

function fileBytes(file: string): number {
  return existsSync(file) ? statSync(file).size : 0;
}

async function sample(p: PeerProcess, hour: number, owner: boolean): Promise<Sample> {
  await p.ask({ cmd: 'gc' });
  const memory = await p.ask<{ rss: number; heapUsed: number; external: number }>({ cmd: 'memory' });
  const contracts = await p.ask<ContractInfo[]>({ cmd: 'contracts' });
  const live = (role: string) => contracts.filter((c) => c.role === role && (c.state === 'pending' || c.state === 'active')).length;
  const index = owner ? await p.ask<{ replicas: number }[]>({ cmd: 'backupShards' }) : [];
  return {
    hour,
    name: p.name,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    external: memory.external,
    fds: readdirSync(`/proc/${p.pid}/fd`).length,
    dbBytes: fileBytes(path.join(p.config.dataDir, 'peer.db')),
    walBytes: fileBytes(path.join(p.config.dataDir, 'peer.db-wal')),
    ownerLive: live('owner'),
    hostLive: live('host'),
    contractRows: contracts.length,
    shardFiles: (await p.ask<string[]>({ cmd: 'shards' })).length,
    indexShards: index.length,
    wantedReplicas: index.reduce((n, s) => n + s.replicas, 0),
  };
}

/** Runs the soak; `log` gets a line per simulated hour. Processes left on error are the caller's to stop. */
export async function runSoak(size: SoakSize, log: (line: string) => void = () => {}): Promise<SoakResult> {
  const random = seededRandom(size.seed);
  const root = tempDir('dbs-soak-');
  try {
    const peers: PeerProcess[] = [await PeerProcess.start('peer0', config(path.join(root, 'peer0'), []))];
    for (let i = 1; i < size.peers; i++) peers.push(await PeerProcess.start(`peer${i}`, config(path.join(root, `peer${i}`), [peers[0]!.address])));
    const isOwner = (p: PeerProcess) => Number(p.name.slice(4)) < size.owners;
    const sources = Array.from({ length: size.owners }, (_, i) => {
      const dir = path.join(root, `source${i}`);
      mkdirSync(dir);
      for (let f = 0; f < FILES; f++) writeFileSync(path.join(dir, `f${f}.bin`), randomBytes(FILE_BYTES));
      return dir;
    });
    let offset = 0;
    let backups = 0;
    let shortBackups = 0;
    let kills = 0;
    const away: { index: number; back: number }[] = [];
    const samples: Sample[] = [];
    for (let hour = 0; hour < size.hours; hour++) {
      // Hosts whose time away is over come back on the same address and data directory.
      for (const a of away.filter((x) => x.back === hour)) peers[a.index] = await peers[a.index]!.restart({ clockOffsetMs: offset, bootstrap: [peers[0]!.address] });
      away.splice(0, away.length, ...away.filter((x) => x.back !== hour));
      if (hour > 0 && hour % size.churnEveryHours === 0) {
        const candidates = peers.map((p, i) => ({ p, i })).filter(({ p, i }) => i >= size.owners && p.alive);
        const { p, i } = candidates[Math.floor(random() * candidates.length)]!;
        await p.kill('SIGKILL');
        away.push({ index: i, back: hour + (kills % 2 === 0 ? 2 : 4) });
        kills++;
      }
      for (let o = 0; o < size.owners; o++) {
        writeFileSync(path.join(sources[o]!, `f${hour % FILES}.bin`), randomBytes(FILE_BYTES));
        const r = await peers[o]!.ask<{ shortfall: number }>({ cmd: 'backup', path: sources[o], replicas: size.replicas });
        backups++;
        if (r.shortfall > 0) shortBackups++;
      }
      const alive = peers.filter((p) => p.alive);
      for (const p of alive) await p.ask({ cmd: 'maintain' });
      for (const p of alive) samples.push(await sample(p, hour, isOwner(p)));
      const owners = samples.filter((s) => s.hour === hour && s.indexShards > 0);
      log(`hour ${hour}: ${alive.length} up; owners ${owners.map((s) => `${s.indexShards} shards/${s.ownerLive} live`).join(', ')}; rss ${alive.length ? Math.max(...samples.filter((s) => s.hour === hour).map((s) => s.rss)) >> 20 : 0} MiB max`);
      offset += HOUR;
      await Promise.all(alive.map((p) => p.ask({ cmd: 'advance', ms: HOUR })));
    }
    // Everyone back, a last pass each: the end state.
    for (const a of away) peers[a.index] = await peers[a.index]!.restart({ clockOffsetMs: offset, bootstrap: [peers[0]!.address] });
    for (const p of peers) await p.ask({ cmd: 'maintain' });
    for (const p of peers) samples.push(await sample(p, size.hours, isOwner(p)));
    await Promise.all(peers.map((p) => p.stop()));
    return { size, samples, backups, shortBackups, kills };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
