/**
 * Backup and restore of a mixed data set through a network of five processes on 127.0.0.1 (one
 * owner, four hosts, replicas = 3), against restic backing up and restoring the same data to a
 * local repository, in the same run.
 *
 *   node dist/bench/backup.js [--size-mib 1024] [--big-file-mib 4096] [--replicas 3] [--write]
 *                             [--no-restic] [--cpu-prof DIR] [--host-connections-per-source N] [--fresh-fs]
 *
 * 1. Writes the data set into a temp dir (pseudo-random, the same from run to run): a few large random
 *    files, thousands of small text-like files, compressible log files, and duplicates (one large file
 *    and many small ones copied), `--size-mib` in all. Hashes every file (SHA-256, streaming).
 * 2. Starts four host processes and an owner process (test/helpers/peer-child.ts); the owner backs the data
 *    set up (timed), restores it into an empty dir (timed), and a second owner process started from the
 *    recovery key with an empty data dir (a new machine) restores it again, from the hosts (timed).
 *    Every restore is compared with the source file by file (hashes, outside the timed part).
 * 3. restic (installed from Debian's packages if missing) backs the same data up to a local repository
 *    and restores it (timed); its restore is checked the same way.
 * 4. One random file of `--big-file-mib` is backed up and restored by the owner: its peak RSS.
 *
 * Peak RSS is the kernel's high-water mark (VmHWM) of each process during a phase, reset before it
 * through /proc/PID/clear_refs (restic: `/usr/bin/time -v`, else polling /proc). `--write` replaces the
 * section "## backup: ..." of docs/benchmarks.md. Temp files and child processes are removed at the end,
 * also on error or Ctrl-C. `--cpu-prof DIR` runs the owner processes and host1 with `--cpu-prof` into DIR (see
 * bench/cpuprofile-summary.ts). `--host-connections-per-source N` sets the hosts' TransferServer
 * `maxConnectionsPerSource` (default: the library's), e.g. to get past a connection leak. `--fresh-fs` (root)
 * runs on a new ext4 filesystem on a loop device made for the run and removed after it (see makeFreshFilesystem).
 */
import type { BackupResult, RestoreResult } from '../src/index.js';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, promises as fs, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Chunker } from '../src/backup/chunker.js';
import { chunkId, deriveBackupKeys, openInto, SEAL_HEAD, SEAL_OVERHEAD, sealInPlace } from '../src/backup/crypto.js';
import { ShardHasher } from '../src/storage/merkle.js';
import {
  cpuSecondsOf,
  cpuTimesOf,
  fixed,
  intFlag,
  machineLines,
  markdownTable,
  parseFlags,
  peakRssBytes,
  resetPeakRss,
  seededRandom,
  writeSection,
} from './common.js';
import { killAllProcesses, type PeerChildConfig, PeerProcess } from '../test/helpers/peer-process.js';
import { PEER_NODE_FLAGS } from '../src/cli/node-flags.js';

const KiB = 1024;
const MiB = 2 ** 20;
const GiB = 2 ** 30;
const HOSTS = 4;
/** What every peer offers to keep for others. */
const STORAGE = 8 * GiB;
/**
 * Reciprocity credit the hosts give one network prefix before it must keep data for them. All five
 * processes share 127.0.0.0/24, and the default (256 MiB) would refuse the owner after 256 MiB.
 */
const ALLOWANCE = 1024 * GiB;
/** The issue's goals. */
const GOAL_BACKUP_RATIO = 1.5;
const GOAL_RESTORE_RATIO = 1.0;
const GOAL_OWNER_RSS = 200e6;

// --- the data set ---------------------------------------------------------------------------------

interface Part {
  kind: string;
  files: number;
  bytes: number;
}

interface DataSet {
  dir: string;
  files: number;
  bytes: number;
  parts: Part[];
}

/** `size` pseudo-random bytes (AES-256-CTR keystream keyed by `seed`), written 1 MiB at a time. */
async function writeRandomFile(file: string, size: number, seed: string): Promise<void> {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(MiB);
  const handle = await fs.open(file, 'wx', 0o644);
  try {
    for (let off = 0; off < size; off += MiB) {
      const n = Math.min(MiB, size - off);
      const block = cipher.update(zeros.subarray(0, n));
      await handle.write(block, 0, n, off);
    }
  } finally {
    await handle.close();
  }
}

/** Writes what `next` returns (strings of about 1 MiB) until the file has `size` bytes. */
async function writeGenerated(file: string, size: number, next: () => string): Promise<void> {
  const handle = await fs.open(file, 'wx', 0o644);
  try {
    let off = 0;
    while (off < size) {
      const block = Buffer.from(next(), 'latin1');
      const n = Math.min(block.length, size - off);
      await handle.write(block, 0, n, off);
      off += n;
    }
  } finally {
    await handle.close();
  }
}

/** Words with English-like letter frequencies; picked with a skew, so that text compresses like text. */
function vocabulary(random: () => number): string[] {
  const letters = 'eeeeeeeeeeeetttttttttaaaaaaaaoooooooiiiiiiinnnnnnnsssssshhhhhhrrrrrrddddlllluuucccmmmwwffggyyppbbvkjxqz';
  return Array.from({ length: 5000 }, () => {
    const n = 1 + Math.floor(random() * random() * 11);
    let w = '';
    for (let i = 0; i < n; i++) w += letters[Math.floor(random() * letters.length)];
    return w;
  });
}

function textOfSize(random: () => number, words: string[], size: number): string {
  const lines: string[] = [];
  let length = 0;
  while (length < size) {
    const count = 6 + Math.floor(random() * 14);
    const picked: string[] = [];
    for (let i = 0; i < count; i++) picked.push(words[Math.floor(words.length * random() ** 3)]!);
    const line = `${picked.join(' ')}${random() < 0.3 ? ',' : '.'}\n`;
    lines.push(line);
    length += line.length;
  }
  return lines.join('').slice(0, size);
}

/** About 1 MiB of application log lines: timestamps, ids and durations vary, the rest repeats. */
function logLines(random: () => number, state: { t: number; id: number }): string {
  const levels = ['INFO', 'INFO', 'INFO', 'INFO', 'DEBUG', 'DEBUG', 'WARN', 'ERROR'];
  const messages = ['request completed', 'cache miss, loading from store', 'connection accepted', 'job finished', 'retrying upstream call', 'session refreshed'];
  const paths = ['/api/v1/items', '/api/v1/users', '/api/v1/orders', '/healthz', '/static/app.js'];
  const out: string[] = [];
  let length = 0;
  while (length < MiB) {
    state.t += Math.floor(random() * 50);
    state.id++;
    const line =
      `${new Date(state.t).toISOString()} ${levels[Math.floor(random() * levels.length)]} [worker-${Math.floor(random() * 8)}] ` +
      `${messages[Math.floor(random() * messages.length)]} id=${state.id} path=${paths[Math.floor(random() * paths.length)]}/${Math.floor(random() * 1000)} ` +
      `took=${Math.floor(random() * random() * 900)}ms status=${random() < 0.95 ? 200 : 503}\n`;
    out.push(line);
    length += line.length;
  }
  return out.join('');
}

/**
 * The mixed data set, `total` bytes in all: 50% large random files (4), about 10% small text files
 * (4-64 KiB), 25% log files, and 15% duplicates (a copy of one large file, copies of small files).
 */
async function makeDataSet(dir: string, total: number): Promise<DataSet> {
  const random = seededRandom(20260101);
  const parts: Part[] = [];
  const add = (kind: string, files: number, bytes: number) => parts.push({ kind, files, bytes });
  mkdirSync(dir, { recursive: true });

  // Large random files: incompressible, no duplicate chunks.
  mkdirSync(path.join(dir, 'media'));
  const bigSize = Math.floor((total * 0.5) / 4);
  for (let i = 0; i < 4; i++) await writeRandomFile(path.join(dir, 'media', `video-${i}.bin`), bigSize - (i * 4099) % 65536, `large-${i}`);
  add('large random files', 4, [0, 1, 2, 3].reduce((s, i) => s + bigSize - ((i * 4099) % 65536), 0));

  // Small text files, 100 a folder.
  const words = vocabulary(random);
  const small: string[] = [];
  let smallBytes = 0;
  while (smallBytes < total * 0.1) {
    const folder = path.join(dir, 'docs', `d${String(Math.floor(small.length / 100)).padStart(3, '0')}`);
    if (small.length % 100 === 0) mkdirSync(folder, { recursive: true });
    const file = path.join(folder, `note-${String(small.length).padStart(5, '0')}.txt`);
    const size = 4 * KiB + Math.floor(random() * 60 * KiB);
    await fs.writeFile(file, textOfSize(random, words, size), { encoding: 'latin1', flag: 'wx' });
    small.push(file);
    smallBytes += size;
  }
  add('small text files (4-64 KiB)', small.length, smallBytes);

  // Logs: compress well, but every line differs, so chunks do not repeat.
  mkdirSync(path.join(dir, 'logs'));
  const logSize = Math.floor((total * 0.25) / 3);
  const state = { t: Date.UTC(2026, 0, 1), id: 0 };
  for (let i = 0; i < 3; i++) await writeGenerated(path.join(dir, 'logs', `app-${i}.log`), logSize, () => logLines(random, state));
  add('log files (compressible)', 3, logSize * 3);

  // Duplicates: one large file under another name, and small files until 15% is reached.
  mkdirSync(path.join(dir, 'copy', 'docs'), { recursive: true });
  await fs.copyFile(path.join(dir, 'media', 'video-0.bin'), path.join(dir, 'copy', 'video-0-copy.bin'));
  let dupFiles = 1;
  let dupBytes = bigSize;
  for (const file of small) {
    if (dupBytes >= total * 0.15) break;
    await fs.copyFile(file, path.join(dir, 'copy', 'docs', path.basename(file)));
    dupFiles++;
    dupBytes += (await fs.stat(file)).size;
  }
  add('duplicates (1 large, the rest small)', dupFiles, dupBytes);

  return { dir, files: parts.reduce((s, p) => s + p.files, 0), bytes: parts.reduce((s, p) => s + p.bytes, 0), parts };
}

// --- what one core does -------------------------------------------------------------------------------

interface Speeds {
  chunker: number;
  chunkId: number;
  seal: number;
  open: number;
  shardHasher: number;
}

/** MiB/s of the owner's per-byte steps on one core, over 256 MiB of pseudo-random data in memory. */
async function oneCoreSpeeds(): Promise<Speeds> {
  const n = 256;
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update('speeds').digest(), Buffer.alloc(16));
  const blocks = Array.from({ length: n }, () => cipher.update(Buffer.alloc(MiB)));
  const keys = deriveBackupKeys(new Uint8Array(32).fill(7));
  const rate = (ms: number) => n / (ms / 1000);
  // The chunker as the backup runs it: borrowed chunks (views of the read buffer, or of one
  // reused buffer for chunks that span reads); then once more keeping copies for the steps below.
  let t = performance.now();
  for await (const c of new Chunker(keys.chunkerSeed).split((async function* () {
    yield* blocks;
  })(), { borrow: true })) void c;
  const chunker = rate(performance.now() - t);
  const chunks: Buffer[] = [];
  for await (const c of new Chunker(keys.chunkerSeed).split((async function* () {
    yield* blocks;
  })())) chunks.push(c);
  t = performance.now();
  const ids = chunks.map((c) => chunkId(keys, c));
  const idRate = rate(performance.now() - t);
  // Sealing and opening in place in one slot, as the crypto worker does.
  const slot = Buffer.alloc(Math.max(...chunks.map((c) => c.length)) + SEAL_OVERHEAD + 2 * 4096);
  const sealed: Buffer[] = [];
  let sealTime = 0;
  chunks.forEach((c, i) => {
    c.copy(slot, SEAL_HEAD);
    const start = performance.now();
    const n = sealInPlace(keys, ids[i]!, slot, c.length);
    sealTime += performance.now() - start;
    sealed.push(Buffer.from(slot.subarray(0, n)));
  });
  const sealRate = rate(sealTime);
  let openTime = 0;
  sealed.forEach((c, i) => {
    c.copy(slot, 100);
    const start = performance.now();
    openInto(keys, ids[i]!, slot.subarray(100, 100 + c.length), slot);
    openTime += performance.now() - start;
  });
  const openRate = rate(openTime);
  t = performance.now();
  const hasher = new ShardHasher();
  for (const b of blocks) hasher.update(b);
  hasher.digest();
  return { chunker, chunkId: idRate, seal: sealRate, open: openRate, shardHasher: rate(performance.now() - t) };
}

/** A figure of /proc/PID/status in KiB (VmRSS, RssAnon, ...); NaN without /proc. */
function statusKiB(pid: number, key: string): number {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Current RSS of `pid` in bytes (VmRSS). */
function rssBytes(pid: number): number {
  return statusKiB(pid, 'VmRSS') * KiB;
}

// --- checking --------------------------------------------------------------------------------------

async function* walk(dir: string, rel = ''): AsyncGenerator<string> {
  const entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) yield* walk(dir, r);
    else yield r;
  }
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Relative path -> SHA-256 of every file (not directories) under `dir`, streaming. */
async function hashTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const rel of walk(dir)) out.set(rel, await hashFile(path.join(dir, rel)));
  return out;
}

/** Null if `dir` holds exactly the files of `expected` with the same contents, else what differs. */
async function verifyTree(dir: string, expected: Map<string, string>, what: string): Promise<string | null> {
  const got = await hashTree(dir);
  const missing = [...expected.keys()].filter((k) => !got.has(k));
  const extra = [...got.keys()].filter((k) => !expected.has(k));
  const differ = [...expected.keys()].filter((k) => got.has(k) && got.get(k) !== expected.get(k));
  if (missing.length + extra.length + differ.length > 0) {
    const list = (name: string, l: string[]) => (l.length ? ` ${l.length} ${name} (${l.slice(0, 3).join(', ')}${l.length > 3 ? ', ...' : ''})` : '');
    const problem = `differs from the source:${list('missing', missing)}${list('extra', extra)}${list('different', differ)}`;
    console.log(`  VERIFY FAILED, ${what}: ${problem}`);
    return problem;
  }
  console.log(`  verified: ${got.size} files identical to the source`);
  return null;
}

/** Reads every file once, so that both tools start from the page cache. */
async function warm(dir: string): Promise<void> {
  for await (const rel of walk(dir)) for await (const _ of createReadStream(path.join(dir, rel), { highWaterMark: MiB }));
}

// --- processes -------------------------------------------------------------------------------------

/** Every child still running, for the clean-up. */
const children = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Prints a peer's progress lines (at most one every 5 s, the peer's default). */
function printProgress(name: string): (p: Record<string, unknown>) => void {
  return (p) => {
    const pr = p as { kind: string; bytes: number; files: number; totalBytes?: number };
    const of = pr.totalBytes ? ` of ${(pr.totalBytes / MiB).toFixed(0)}` : '';
    console.log(`  [${name}] ${pr.kind}: ${pr.files} files, ${(pr.bytes / MiB).toFixed(0)}${of} MiB`);
  };
}

/** Peer processes run with the node flags `dbs` runs with (src/cli/node-flags.ts), unless DBS_BENCH_NODE_DEFAULTS is set. */
const PEER_FLAGS = process.env.DBS_BENCH_NODE_DEFAULTS ? [] : [...PEER_NODE_FLAGS];

/** A peer process of the shared test helper (test/helpers/peer-child.ts), printing its progress. */
function startPeer(name: string, config: PeerChildConfig, nodeArgs: string[] = []): Promise<PeerProcess> {
  return PeerProcess.start(name, config, { nodeArgs: [...PEER_FLAGS, ...nodeArgs], onProgress: printProgress(name) });
}

// --- measuring -------------------------------------------------------------------------------------

interface Phase<T> {
  value: T;
  seconds: number;
  /** Peak RSS in the phase, bytes, by process name. */
  peaks: Map<string, number>;
  /** CPU seconds used in the phase, by process name. */
  cpu: Map<string, number>;
  /** User and system CPU seconds: the owner (first process) and all the others together. */
  split: { ownerUser: number; ownerSystem: number; othersUser: number; othersSystem: number };
  /** RPC requests of the first process (the owner) that timed out during the phase. */
  timeouts: number;
  /** TCP connections the other processes (the hosts) refused during the phase, by code. */
  refused: Map<string, number>;
}

/** Where a process's memory was, MiB: kernel figures (/proc/PID/status) and Node's own (process.memoryUsage). */
interface MemorySample {
  rss: number;
  /** File-backed pages: mostly the node binary's code. */
  file: number;
  anon: number;
  heapTotal: number;
  external: number;
}


/** Samples `proc` every 100 ms until stopped; keeps the sample with the highest RSS. */
function sampleMemory(proc: PeerProcess): { stop: () => Promise<MemorySample | null> } {
  let best: MemorySample | null = null;
  let running = true;
  const loop = (async () => {
    while (running) {
      const rss = statusKiB(proc.pid, 'VmRSS') / KiB;
      const usage = await proc.ask<NodeJS.MemoryUsage>({ cmd: 'memory' }).catch(() => null);
      if (usage && Number.isFinite(rss) && (!best || rss > best.rss)) {
        best = { rss, file: statusKiB(proc.pid, 'RssFile') / KiB, anon: statusKiB(proc.pid, 'RssAnon') / KiB, heapTotal: usage.heapTotal / MiB, external: usage.external / MiB };
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return best;
    },
  };
}

function describeSample(m: MemorySample | null): string {
  if (!m) return 'not sampled';
  return `RSS ${fixed(m.rss, 0)} MiB = ${fixed(m.file, 0)} file-backed (node's code) + ${fixed(m.anon, 0)} anonymous; JS heap ${fixed(m.heapTotal, 0)}, external ${fixed(m.external, 0)}`;
}

type Status = { dht: { timeouts: number }; transfer: { refused: Record<string, number> } };

/** What measure() saw of the owner's memory, phase by phase (`label`: where the owner was highest). */
const memoryNotes: string[] = [];

/**
 * Times `run`, with peak RSS and CPU time of `procs`; before it: `sync`, and a full GC in each.
 * The first process (the owner) is also sampled for where its memory was at its highest.
 */
async function measure<T>(label: string, procs: PeerProcess[], run: () => Promise<T>): Promise<Phase<T>> {
  execFileSync('sync');
  await Promise.all(procs.map((p) => p.ask({ cmd: 'gc' })));
  for (const p of procs) resetPeakRss(p.pid);
  const status0 = await Promise.all(procs.map((p) => p.ask<Status>({ cmd: 'status' })));
  const cpu0 = procs.map((p) => cpuTimesOf(p.pid));
  const sampler = sampleMemory(procs[0]!);
  const start = performance.now();
  const value = await run();
  const seconds = (performance.now() - start) / 1000;
  const note = `${label}: ${describeSample(await sampler.stop())}`;
  memoryNotes.push(note);
  console.log(`  ${procs[0]!.name} ${note}`);
  const peaks = new Map(procs.map((p) => [p.name, peakRssBytes(p.pid)]));
  const used = procs.map((p, i) => {
    const t = cpuTimesOf(p.pid);
    return { user: t.user - cpu0[i]!.user, system: t.system - cpu0[i]!.system };
  });
  const cpu = new Map(procs.map((p, i) => [p.name, used[i]!.user + used[i]!.system]));
  console.log(`  CPU s user/system: ${procs.map((p, i) => `${p.name} ${fixed(used[i]!.user, 1)}/${fixed(used[i]!.system, 1)}`).join(', ')}`);
  const status1 = await Promise.all(procs.map((p) => p.ask<Status>({ cmd: 'status' })));
  const timeouts = status1[0]!.dht.timeouts - status0[0]!.dht.timeouts;
  const refused = new Map<string, number>();
  for (let i = 1; i < procs.length; i++) {
    for (const [code, n] of Object.entries(status1[i]!.transfer.refused)) {
      const d = n - (status0[i]!.transfer.refused[code] ?? 0);
      if (d > 0) refused.set(code, (refused.get(code) ?? 0) + d);
    }
  }
  const others = used.slice(1);
  const split = {
    ownerUser: used[0]!.user,
    ownerSystem: used[0]!.system,
    othersUser: others.reduce((a, x) => a + x.user, 0),
    othersSystem: others.reduce((a, x) => a + x.system, 0),
  };
  return { value, seconds, peaks, cpu, split, timeouts, refused };
}

// --- restic ----------------------------------------------------------------------------------------

interface ResticRun {
  seconds: number;
  peak: number;
  cpu: number;
  stdout: string;
}

function haveCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** restic's version line, installing it from Debian's packages if missing; null if that fails. */
function ensureRestic(): string | null {
  if (!haveCommand('restic')) {
    console.log('restic is not installed: apt-get install -y restic ...');
    try {
      execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic'], { stdio: ['ignore', 'ignore', 'inherit'] });
    } catch {
      return null;
    }
  }
  try {
    return execFileSync('restic', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

/** Runs restic, timed; peak RSS and CPU from `/usr/bin/time -v`, or by polling /proc without it. */
async function restic(args: string[], env: NodeJS.ProcessEnv, useTime: boolean): Promise<ResticRun> {
  const [cmd, argv] = useTime ? ['/usr/bin/time', ['-v', 'restic', ...args]] : ['restic', args];
  const start = performance.now();
  const child = track(spawn(cmd, argv as string[], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let polledPeak = NaN;
  let polledCpu = NaN;
  const poll = useTime
    ? undefined
    : setInterval(() => {
        const peak = peakRssBytes(child.pid!);
        const cpu = cpuSecondsOf(child.pid!);
        if (Number.isFinite(peak)) polledPeak = Number.isFinite(polledPeak) ? Math.max(polledPeak, peak) : peak;
        if (Number.isFinite(cpu)) polledCpu = cpu;
      }, 50);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const seconds = (performance.now() - start) / 1000;
  if (poll) clearInterval(poll);
  if (code !== 0) throw new Error(`restic ${args.join(' ')} exited with ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
  if (!useTime) return { seconds, peak: polledPeak, cpu: polledCpu, stdout };
  const num = (re: RegExp) => Number(re.exec(stderr)?.[1] ?? NaN);
  return {
    seconds,
    peak: num(/Maximum resident set size \(kbytes\): (\d+)/) * 1024,
    cpu: num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/),
    stdout,
  };
}

// --- disk ------------------------------------------------------------------------------------------

function freeBytes(dir: string): number {
  const out = execFileSync('df', ['-Pk', dir], { encoding: 'utf8' }).trim().split('\n');
  return Number(out[out.length - 1]!.split(/\s+/)[3]) * KiB;
}

function duBytes(dir: string): number {
  try {
    return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split(/\s+/)[0]);
  } catch {
    return NaN;
  }
}

/** Set when the run writes to a filesystem of its own (--fresh-fs): what it is, for the section. */
let freshFsNote: string | null = null;

/**
 * A new ext4 filesystem (no journal, like this machine's root) of `bytes` on a loop device with
 * direct I/O, mounted on a new directory: runs do not inherit the state earlier runs left (on
 * ext4, creating files shortly after thousands were deleted is slow). Needs root, mkfs.ext4,
 * losetup and mount; the sparse image lives in os.tmpdir(). `remove` unmounts and deletes it all.
 */
function makeFreshFilesystem(bytes: number): { dir: string; remove: () => void } {
  if (process.getuid?.() !== 0) throw new Error('--fresh-fs needs root (it runs mkfs.ext4, losetup and mount)');
  const image = path.join(os.tmpdir(), `dbs-bench-fs-${process.pid}.img`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbs-bench-mnt-'));
  let device = '';
  let mounted = false;
  const succeeds = (cmd: string, args: string[]) => {
    try {
      execFileSync(cmd, args, { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  const remove = () => {
    // Killed peers may still hold files there for a moment: a lazy unmount then.
    if (mounted && !succeeds('umount', [dir])) succeeds('umount', ['-l', dir]);
    mounted = false;
    if (device) succeeds('losetup', ['-d', device]);
    device = '';
    rmSync(image, { force: true });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    execFileSync('truncate', ['-s', String(bytes), image]);
    execFileSync('mkfs.ext4', ['-q', '-F', '-O', '^has_journal', image], { stdio: 'ignore' });
    device = execFileSync('losetup', ['--direct-io=on', '-f', '--show', image], { encoding: 'utf8' }).trim();
    execFileSync('mount', [device, dir]);
    mounted = true;
  } catch (err) {
    remove();
    throw new Error(`--fresh-fs: could not make the filesystem: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { dir, remove };
}

function filesystemOf(dir: string): string {
  try {
    return execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown filesystem';
  }
}

// --- the run ---------------------------------------------------------------------------------------

interface Row {
  tool: 'ours' | 'restic';
  operation: string;
  bytes: number;
  seconds: number;
  /** Owner (ours) or restic process. */
  peak: number;
  hostPeak?: number;
  cpu: number;
  hostCpu?: number;
  /** Ours: user and system CPU seconds of the owner and of the hosts. */
  split?: Phase<unknown>['split'];
  note: string;
  /** What was wrong with the restored files, if anything. */
  failed?: string | null;
}

interface Results {
  data: DataSet;
  rows: Row[];
  ours: { backup: Row; restoreLocal: Row; restoreRemote: Row; recoverSeconds: number; uploaded: number; shards: number; hostStored: number; ownerCopy: number };
  restic: { version: string; backup: Row; restore: Row; repoBytes: number } | { skipped: string };
  big: { size: number; backup: Row; restore: Row } | null;
  replicas: number;
  resticMeasure: string;
  speeds: Speeds;
  /** RSS of the owner and of a host right after they joined, idle. */
  idle: { owner: number; host: number };
  load: string;
  /** Hosts' maxConnectionsPerSource when not the default. */
  connectionsPerSource: number | null;
  filesystem: string;
  peakResets: boolean;
}

function hostsSummary<T>(phase: Phase<T>): { hostPeak: number; hostCpu: number } {
  let hostPeak = 0;
  let hostCpu = 0;
  for (const [name, v] of phase.peaks) if (name.startsWith('host')) hostPeak = Math.max(hostPeak, v);
  for (const [name, v] of phase.cpu) if (name.startsWith('host')) hostCpu += v;
  return { hostPeak, hostCpu };
}

function ourRow<T>(operation: string, bytes: number, phase: Phase<T>, owner: string, note: string, failed: string | null = null): Row {
  const timeouts = phase.timeouts > 0 ? `; ${phase.timeouts} UDP requests timed out` : '';
  const refused = [...phase.refused].map(([code, n]) => `${n} ${code}`).join(', ');
  const extra = `${timeouts}${refused ? `; hosts refused connections: ${refused}` : ''}${failed ? `; **restore incomplete**: ${failed}` : ''}`;
  return { tool: 'ours', operation, bytes, seconds: phase.seconds, peak: phase.peaks.get(owner)!, cpu: phase.cpu.get(owner)!, ...hostsSummary(phase), split: phase.split, note: note + extra, failed };
}

async function run(
  root: string,
  opts: { size: number; bigSize: number; replicas: number; restic: boolean; cpuProf: string | null; connectionsPerSource: number | null },
): Promise<Results> {
  const load = os.loadavg().map((l) => l.toFixed(2)).join(', ');
  const profileArgs = opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProf}`] : [];
  // Restored trees stay until the temp dir is removed at the end, not between phases: on ext4
  // without a journal (this machine's root filesystem) every file created in the seconds after
  // thousands were deleted costs up to ~0.5 ms of kernel time (inode allocation skips recently
  // deleted inodes, checking each), and a restore after another restore's removal measured
  // that, not the tool.

  console.log('one core: chunker, chunk IDs, sealing, opening, shard hashing over 256 MiB ...');
  const speeds = await oneCoreSpeeds();
  console.log(`  ${Object.entries(speeds).map(([k, v]) => `${k} ${fixed(v, 0)} MiB/s`).join(', ')}`);

  console.log(`writing the data set (${opts.size / MiB} MiB) in ${root} ...`);
  const data = await makeDataSet(path.join(root, 'data'), opts.size);
  for (const p of data.parts) console.log(`  ${p.kind}: ${p.files} files, ${(p.bytes / MiB).toFixed(1)} MiB`);
  const expected = await hashTree(data.dir);

  console.log('starting 4 hosts and the owner ...');
  const hosts: PeerProcess[] = [];
  for (let i = 0; i < HOSTS; i++) {
    const bootstrap = hosts.length > 0 ? [hosts[0]!.address] : [];
    const transfer = opts.connectionsPerSource ? { transfer: { maxConnectionsPerSource: opts.connectionsPerSource } } : {};
    hosts.push(await startPeer(`host${i}`, { role: 'host', dataDir: path.join(root, `host${i}`), storage: STORAGE, bootstrap, allowance: ALLOWANCE, ...transfer }, i === 1 ? profileArgs : []));
  }
  const ownerDir = path.join(root, 'owner');
  const owner = await startPeer('owner', { role: 'owner', dataDir: ownerDir, storage: STORAGE, bootstrap: [hosts[0]!.address], allowance: ALLOWANCE }, profileArgs);
  const peakResets = resetPeakRss(owner.pid);
  await owner.ask({ cmd: 'gc' });
  await hosts[1]!.ask({ cmd: 'gc' });
  const idle = { owner: rssBytes(owner.pid), host: rssBytes(hosts[1]!.pid) };
  const all = [owner, ...hosts];
  /** Stopped at the end with the others. */
  const extra: PeerProcess[] = [];

  try {
    // --- ours: backup, restore on the same machine, restore on a new machine ---
    await warm(data.dir);
    console.log(`ours: backup (replicas ${opts.replicas}) ...`);
    const backup = await measure('backup', all, () => owner.ask<BackupResult>({ cmd: 'backup', path: data.dir, replicas: opts.replicas }));
    const b = backup.value;
    console.log(`  ${fixed(backup.seconds, 1)} s: ${b.files} files, ${b.shards} shards, ${(b.uploadedBytes / MiB).toFixed(0)} MiB uploaded, shortfall ${b.shortfall}`);
    if (b.shortfall > 0) console.log(`  WARNING: ${b.shortfall} replicas missing`);
    const hostStored = hosts.reduce((s, _, i) => s + duBytes(path.join(root, `host${i}`, 'shards')), 0);
    const ownerCopy = duBytes(path.join(ownerDir, 'backup', 'shards'));

    console.log('ours: restore on the same machine ...');
    const destLocal = path.join(root, 'restore-ours-local');
    const restoreLocal = await measure('restore, same machine', all, () => owner.ask<RestoreResult>({ cmd: 'restore', snapshot: b.id, dest: destLocal }));
    console.log(`  ${fixed(restoreLocal.seconds, 1)} s, ${restoreLocal.value.files} files, incomplete ${restoreLocal.value.incomplete.length}`);
    const localFailed = await verifyTree(destLocal, expected, 'ours (same machine)');

    console.log('ours: restore on a new machine (recovery key, empty data dir, shards from the hosts) ...');
    const fresh = await startPeer(
      'owner2',
      { role: 'owner', dataDir: path.join(root, 'owner2'), storage: STORAGE, bootstrap: [hosts[0]!.address], allowance: ALLOWANCE, recoveryKey: owner.recoveryKey },
      profileArgs,
    );
    // Kept running to the end: a stopped peer stays in the others' routing tables, and a later
    // shard placement short of live candidates would wait for the HELLO grace, not what this measures.
    extra.push(fresh);
    const withFresh = [fresh, ...hosts];
    const recover = await measure('catalog recovery (new machine)', withFresh, () => fresh.ask<{ id: string }[]>({ cmd: 'snapshots' }));
    if (!recover.value.some((s) => s.id === b.id)) throw new Error(`the new machine did not find snapshot ${b.id}`);
    const destRemote = path.join(root, 'restore-ours-remote');
    const restoreRemote = await measure('restore, new machine', withFresh, () => fresh.ask<RestoreResult>({ cmd: 'restore', snapshot: b.id, dest: destRemote }));
    console.log(`  recovery ${fixed(recover.seconds, 2)} s, restore ${fixed(restoreRemote.seconds, 1)} s, incomplete ${restoreRemote.value.incomplete.length}`);
    const remoteFailed = await verifyTree(destRemote, expected, 'ours (new machine)');

    const ours = {
      backup: ourRow('backup', data.bytes, backup, 'owner', `${b.shards} shards; ${fixed(b.uploadedBytes / MiB, 0)} MiB sealed and uploaded, x${opts.replicas}`),
      restoreLocal: ourRow('restore, same machine', data.bytes, restoreLocal, 'owner', "owner's local shard copies", localFailed),
      restoreRemote: ourRow('restore, new machine', data.bytes, restoreRemote, 'owner2', `shards from the hosts; recovery of the catalog ${fixed(recover.seconds, 2)} s before it`, remoteFailed),
      recoverSeconds: recover.seconds,
      uploaded: b.uploadedBytes,
      shards: b.shards,
      hostStored,
      ownerCopy,
    };

    // --- restic, on the same data, while it is in the page cache ---
    let resticResult: Results['restic'] = { skipped: 'not run (--no-restic)' };
    const useTime = existsSync('/usr/bin/time');
    if (opts.restic) {
      const version = ensureRestic();
      if (!version) {
        resticResult = { skipped: 'restic could not be installed (apt-get install restic failed)' };
        console.log(`SKIPPING restic: ${resticResult.skipped}`);
      } else {
        const repo = path.join(root, 'restic-repo');
        const env = { ...process.env, RESTIC_PASSWORD: 'benchmark', RESTIC_REPOSITORY: repo, RESTIC_CACHE_DIR: path.join(root, 'restic-cache') };
        execFileSync('restic', ['init', '-q'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
        await warm(data.dir);
        execFileSync('sync');
        console.log(`${version}: backup ...`);
        const rb = await restic(['backup', '-q', '--host', 'bench', data.dir], env, useTime);
        const repoBytes = duBytes(repo);
        console.log(`  ${fixed(rb.seconds, 1)} s, repository ${(repoBytes / MiB).toFixed(0)} MiB`);
        execFileSync('sync');
        console.log('restic: restore ...');
        const dest = path.join(root, 'restore-restic');
        const rr = await restic(['restore', 'latest', '--target', dest], env, useTime);
        console.log(`  ${fixed(rr.seconds, 1)} s`);
        // restic restores the absolute source path under the target.
        const resticFailed = await verifyTree(path.join(dest, data.dir), expected, 'restic');
        resticResult = {
          version,
          backup: { tool: 'restic', operation: 'backup', bytes: data.bytes, seconds: rb.seconds, peak: rb.peak, cpu: rb.cpu, note: `local repository, ${fixed(repoBytes / MiB, 0)} MiB (compressed, deduplicated)` },
          restore: {
            tool: 'restic',
            operation: 'restore',
            bytes: data.bytes,
            seconds: rr.seconds,
            peak: rr.peak,
            cpu: rr.cpu,
            note: `from the local repository${resticFailed ? `; **restore incomplete**: ${resticFailed}` : ''}`,
            failed: resticFailed,
          },
          repoBytes,
        };
      }
    }

    // --- one big file: the owner's memory ---
    let big: Results['big'] = null;
    if (opts.bigSize > 0) {
      const bigDir = path.join(root, 'big');
      mkdirSync(bigDir);
      console.log(`writing a ${opts.bigSize / MiB} MiB random file ...`);
      await writeRandomFile(path.join(bigDir, 'big.bin'), opts.bigSize, 'big-file');
      const bigExpected = await hashTree(bigDir);
      console.log('ours: backup of the big file ...');
      const bb = await measure('backup, big file', all, () => owner.ask<BackupResult>({ cmd: 'backup', path: bigDir, replicas: opts.replicas }));
      console.log(`  ${fixed(bb.seconds, 1)} s, ${bb.value.shards} shards, owner peak ${(bb.peaks.get('owner')! / MiB).toFixed(0)} MiB`);
      const dest = path.join(root, 'restore-big');
      console.log('ours: restore of the big file (same machine) ...');
      const br = await measure('restore, big file', all, () => owner.ask<RestoreResult>({ cmd: 'restore', snapshot: bb.value.id, dest }));
      console.log(`  ${fixed(br.seconds, 1)} s, owner peak ${(br.peaks.get('owner')! / MiB).toFixed(0)} MiB`);
      const bigFailed = await verifyTree(dest, bigExpected, 'ours (big file)');
      rmSync(dest, { recursive: true, force: true });
      rmSync(bigDir, { recursive: true, force: true });
      big = {
        size: opts.bigSize,
        backup: ourRow(`backup, one ${fixed(opts.bigSize / GiB, opts.bigSize % GiB ? 2 : 0)} GiB file`, opts.bigSize, bb, 'owner', `${bb.value.shards} shards, x${opts.replicas}`),
        restore: ourRow(`restore, one ${fixed(opts.bigSize / GiB, opts.bigSize % GiB ? 2 : 0)} GiB file`, opts.bigSize, br, 'owner', "same machine (owner's local shard copies)", bigFailed),
      };
    }

    const rows = [ours.backup];
    if ('version' in resticResult) rows.push(resticResult.backup);
    rows.push(ours.restoreLocal, ours.restoreRemote);
    if ('version' in resticResult) rows.push(resticResult.restore);
    if (big) rows.push(big.backup, big.restore);
    return {
      data,
      rows,
      ours,
      restic: resticResult,
      big,
      replicas: opts.replicas,
      resticMeasure: useTime ? '`/usr/bin/time -v`' : 'polling /proc/PID/status',
      speeds,
      idle,
      connectionsPerSource: opts.connectionsPerSource,
      load,
      filesystem: filesystemOf(root),
      peakResets,
    };
  } finally {
    await Promise.all([...all, ...extra].map((p) => p.stop()));
  }
}

// --- report ----------------------------------------------------------------------------------------

const mib = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / MiB).toFixed(0)} MiB` : '-');

function table(r: Results): string {
  const resticRow = (op: string) => ('version' in r.restic ? (op.startsWith('backup') ? r.restic.backup : r.restic.restore) : null);
  const rows = r.rows.map((row) => {
    const ref = row.tool === 'ours' && row.bytes === r.data.bytes ? resticRow(row.operation) : null;
    return [
      row.tool,
      row.operation,
      mib(row.bytes),
      `${fixed(row.seconds, 1)} s`,
      fixed(row.bytes / MiB / row.seconds, 0),
      ref ? `${fixed(row.seconds / ref.seconds, 2)}x` : '-',
      mib(row.peak),
      row.hostPeak !== undefined ? mib(row.hostPeak) : '-',
      row.hostCpu !== undefined ? `${fixed(row.cpu, 1)} + ${fixed(row.hostCpu, 1)}` : fixed(row.cpu, 1),
      row.note,
    ];
  });
  return markdownTable(['tool', 'operation', 'data', 'time', 'MiB/s', 'time vs restic', 'peak RSS (owner / restic)', 'peak RSS (hosts, max)', 'CPU s (owner + hosts)', 'notes'], rows);
}

function goalLines(r: Results): string[] {
  const lines: string[] = [];
  const verdict = (ok: boolean) => (ok ? 'met' : 'not met');
  if ('version' in r.restic) {
    const rb = r.ours.backup.seconds / r.restic.backup.seconds;
    lines.push(`- Backup: ${fixed(r.ours.backup.seconds, 1)} s vs restic's ${fixed(r.restic.backup.seconds, 1)} s = ${fixed(rb, 2)}x: ${verdict(rb <= GOAL_BACKUP_RATIO)} (goal: at most ${GOAL_BACKUP_RATIO}x).`);
    for (const row of [r.ours.restoreLocal, r.ours.restoreRemote]) {
      const ratio = row.seconds / r.restic.restore.seconds;
      const outcome = row.failed ? `not met: the restore was incomplete (${row.failed})` : verdict(ratio <= GOAL_RESTORE_RATIO);
      lines.push(
        `- Restore, ${row.operation.replace('restore, ', '')}: ${fixed(row.seconds, 1)} s vs restic's ${fixed(r.restic.restore.seconds, 1)} s = ${fixed(ratio, 2)}x: ${outcome} (goal: at most ${GOAL_RESTORE_RATIO}x).`,
      );
    }
  } else {
    lines.push(`- Backup and restore against restic: not measured (${r.restic.skipped}).`);
  }
  const mixedPeak = Math.max(r.ours.backup.peak, r.ours.restoreLocal.peak, r.ours.restoreRemote.peak);
  if (r.big) {
    const peak = Math.max(r.big.backup.peak, r.big.restore.peak);
    const goalSize = r.big.size >= 4 * GiB ? '' : ` (the goal names a 4 GiB file; this run used ${fixed(r.big.size / GiB, 2)} GiB)`;
    lines.push(
      `- Owner peak RSS with one ${fixed(r.big.size / MiB, 0)} MiB file: backup ${mib(r.big.backup.peak)}, restore ${mib(r.big.restore.peak)}: ` +
        `${verdict(peak < GOAL_OWNER_RSS)} (goal: under 200 MB = ${mib(GOAL_OWNER_RSS)})${goalSize}. With the mixed data set: at most ${mib(mixedPeak)}.`,
    );
  } else {
    lines.push(`- Owner peak RSS: no big-file run (--big-file-mib 0); with the mixed data set at most ${mib(mixedPeak)} (goal: under ${mib(GOAL_OWNER_RSS)}).`);
  }
  return lines;
}

/** Where our time goes, from the figures of this run. */
function costLines(r: Results): string[] {
  const s = r.speeds;
  const data = r.data.bytes / MiB;
  const b = r.ours.backup;
  const mainPerByte = data / s.chunker + data / s.chunkId;
  const sealing = r.ours.uploaded / MiB / s.seal;
  const restic = 'version' in r.restic ? r.restic : null;
  const lines = [
    'Where the time goes:',
    '',
    `- One core here, random data: \`Chunker.split\` ${fixed(s.chunker, 0)} MiB/s, chunk IDs (HMAC-SHA-256) ${fixed(s.chunkId, 0)} MiB/s, sealing in place (a 64 KiB`,
    `  compression sample, AES-256-GCM) ${fixed(s.seal, 0)} MiB/s, opening in place (AES-256-GCM, ID check) ${fixed(s.open, 0)} MiB/s, \`ShardHasher\` (the Merkle leaf hashes, which also give the shard ID) ${fixed(s.shardHasher, 0)} MiB/s (256 MiB in memory, this process).`,
    `- Backup: the owner's main thread reads, chunks and computes chunk IDs (per-byte work about ${fixed(mainPerByte, 1)} s of the ${fixed(b.seconds, 1)} s at the`,
    `  speeds above), a worker thread compresses and seals chunks in place two ahead of it (about ${fixed(sealing, 1)} s), and another hashes`,
    '  the leaves of the shard being written. Each full shard is placed (negotiated, uploaded to 3 hosts',
    '  that each hash its leaves on a worker thread and fsync it) in the background while the next fills, at most 2 at a time:',
    `  ${fixed(b.cpu + (b.hostCpu ?? 0), 1)} CPU s in ${fixed(b.seconds, 1)} s (${fixed((b.cpu + (b.hostCpu ?? 0)) / b.seconds, 1)} of ${os.cpus().length} cores busy).`,
    `  Every shard is written ${r.replicas + 1} times (owner's copy + replicas) and the owner uploads it ${r.replicas} times; chunks are compressed`,
    '  first (Brotli quality 0, kept where it saves 1/16), and shard files are written and read with direct I/O (O_DIRECT): on this',
    '  VM a buffered write into memory the kernel has not touched lately costs ~3 s of system time per GiB, against ~0.1 s direct.',
    ...(['backup', 'restoreLocal', 'restoreRemote'] as const).map((k) => {
      const x = r.ours[k].split;
      return x ? `  CPU s user / system, ${r.ours[k].operation}: owner ${fixed(x.ownerUser, 1)} / ${fixed(x.ownerSystem, 1)}, hosts ${fixed(x.othersUser, 1)} / ${fixed(x.othersSystem, 1)}.` : '';
    }).filter((l) => l !== ''),
    '- Restore: files under 1 MiB 8 at a time, larger ones one at a time beside them; the shard files stay open while chunks are',
    '  read from them. On a new machine the shards are downloaded 3 at a time (verified as they stream) to temp files, ahead of',
    '  the files that need them. Sealed chunks are read (direct I/O) straight into the slots of a worker thread that decrypts and',
    '  decompresses them, up to three ahead of the chunk being written (small files have a pool of small slots of their own);',
    "  the main thread checks each chunk's keyed ID before writing it. Large files go out in direct writes through a 1 MiB",
    '  aligned staging buffer and are fsynced and renamed one by one; small files in ordinary writes, then synced in',
    '  batches of up to 512 (one `sync -f`, i.e. syncfs, per batch: an fsync per file cost a serialized device flush each,',
    '  ~0.45 ms here) and only then renamed; the restore syncs once more before it returns.',
  ];
  if (restic) {
    lines.push(
      `- restic used ${fixed(restic.backup.cpu, 1)} CPU s in ${fixed(restic.backup.seconds, 1)} s to back up (${fixed(restic.backup.cpu / restic.backup.seconds, 1)} cores busy), ` +
        `${fixed(restic.restore.cpu, 1)} CPU s in ${fixed(restic.restore.seconds, 1)} s to restore; it compresses, keeps one copy, and does not fsync restored files.`,
    );
  }
  lines.push(
    '- Noise in restores: they create 3811 files, and on ext4 without a journal (this machine\'s root filesystem) creating a',
    '  file within 60 s (300 s if not yet written back) of deleting thousands costs up to ~0.5 ms of kernel time: inode',
    '  allocation skips each recently deleted inode (`recently_deleted` in fs/ext4/ialloc.c). This run keeps restored trees',
    '  until its end, but one started less than a few minutes after another run\'s cleanup measured 7.5 s instead of 5.1 s for',
    '  the same-machine restore (perf: a fifth of all CPU in `recently_deleted` and `find_get_block_common`). Leave a pause.',
  );
  lines.push(`- Idle RSS right after joining: owner ${mib(r.idle.owner)}, host ${mib(r.idle.host)} (Node, SQLite, the DHT).`);
  lines.push('- The owner at its highest RSS in each phase (sampled every 100 ms), in the order run:');
  for (const note of memoryNotes) lines.push(`  - ${note}`);
  return lines;
}

function section(r: Results, totalSeconds: number): string {
  const d = r.data;
  const restic = 'version' in r.restic ? r.restic : null;
  const cores = os.cpus().length;
  return [
    `## backup: ${fixed(d.bytes / MiB, 0)} MiB of mixed data, ours (owner + ${HOSTS} hosts, replicas ${r.replicas}) vs restic`,
    '',
    ...machineLines(),
    `- Temp dir: ${freshFsNote ?? `${os.tmpdir()} (${r.filesystem})`}; ${fixed(os.totalmem() / GiB, 0)} GiB RAM, so every file is read from the page cache`,
    `- Load average when the run started: ${r.load}; the whole run took ${fixed(totalSeconds / 60, 1)} min`,
    restic ? `- ${restic.version} (Debian package), repository format 2 (zstd compression "auto")` : `- restic: ${'skipped' in r.restic ? r.restic.skipped : ''}`,
    '',
    `Data set (pseudo-random, the same every run): ${d.files} files, ${fixed(d.bytes / MiB, 1)} MiB:`,
    '',
    ...d.parts.map((p) => `- ${p.kind}: ${p.files} files, ${fixed(p.bytes / MiB, 1)} MiB`),
    '',
    `Ours: ${HOSTS} hosts and one owner, each a \`Peer\` in its own process (\`test/helpers/peer-child.ts\`), all on 127.0.0.1 and sharing`,
    `the machine's ${cores} cores; default shard size (16 MiB) and chunk sizes (256 KiB / 1 MiB / 4 MiB), DHT limits for single-host`,
    `networks lifted (\`maxPerIpPerBucket: Infinity, rateLimit: null\`), every peer offering ${STORAGE / GiB} GiB. The hosts' reciprocity`,
    `allowance is raised to ${ALLOWANCE / GiB} GiB: all processes share 127.0.0.0/24, and the default 256 MiB would refuse the owner`,
    `past 256 MiB. Every peer process runs node with ${PEER_FLAGS.length ? PEER_FLAGS.map((f) => `\`${f}\``).join(' ') : 'its default flags'} (${PEER_FLAGS.length ? 'as `dbs` does: src/cli/node-flags.ts' : 'DBS_BENCH_NODE_DEFAULTS set'}).`,
    'Periodic maintenance (audits, repair, republishing) is pushed out of the run. Backup: `peer.backup(dir,',
    `{ replicas: ${r.replicas} })\`, from the call to the published root record. Restore on the same machine: \`peer.restore\` into an`,
    "empty dir; the owner keeps a local copy of every shard it placed, so no byte comes from the hosts. Restore on a new machine:",
    'a second owner process started from the recovery key with an empty data dir; it recovers the catalog from the network',
    '(`peer.snapshots()`, timed apart) and fetches every shard from the hosts. It keeps running to the end of the run: a stopped',
    "peer stays in the others' routing tables, and a shard placement that finds fewer than replicas + 1 live hosts among its",
    'candidates waits up to the HELLO grace (200 ms) for it. Every restore (restic\'s too) is checked file by',
    'file against the source (SHA-256, outside the timed part).',
    ...(r.connectionsPerSource
      ? [
          `**The hosts' \`maxConnectionsPerSource\` is raised from 8 to ${r.connectionsPerSource}** (\`--host-connections-per-source\`): a finished GET leaves its`,
          'connection half-open until the 30 s idle timeout, so a restore of more than 8 shards from one host within 30 s is refused',
          '(BUSY) by default, and files end up incomplete (in development, 3 of the 4 large files at 1 GiB).',
        ]
      : []),
    '',
    `Stored: ${fixed(r.ours.uploaded / MiB, 0)} MiB sealed in ${r.ours.shards} shards, ${fixed(r.ours.hostStored / MiB, 0)} MiB on the hosts in all (x${r.replicas}),`,
    `${fixed(r.ours.ownerCopy / MiB, 0)} MiB of local shard copies on the owner; chunks are deduplicated, then compressed where it pays.` +
      (restic ? ` restic's repository: ${fixed(restic.repoBytes / MiB, 0)} MiB.` : ''),
    '',
    restic
      ? `restic: \`restic backup DIR\` and \`restic restore latest --target DEST\` with a local repository in the same temp dir, as many threads as it likes; peak RSS and CPU from ${r.resticMeasure}.`
      : '',
    `Before every timed phase: \`sync\`, a full GC in each of our processes, and their peak-RSS marks reset${r.peakResets ? '' : ' (not possible here: peaks are since process start)'}.`,
    'Peak RSS: VmHWM of the process during the phase. CPU s: user + system time in the phase (ours: owner + all hosts).',
    '',
    table(r),
    '',
    'Goals from the issue:',
    '',
    ...goalLines(r),
    '',
    ...costLines(r),
    '',
  ]
    .filter((l, i, a) => !(l === '' && a[i - 1] === ''))
    .join('\n');
}

// --- main ------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['size-mib', 'big-file-mib', 'replicas', 'write', 'no-restic', 'cpu-prof', 'host-connections-per-source', 'fresh-fs']);
  const perSource = intFlag(flags, 'host-connections-per-source', 0);
  const size = intFlag(flags, 'size-mib', 1024) * MiB;
  const bigSize = intFlag(flags, 'big-file-mib', 4096) * MiB;
  const replicas = intFlag(flags, 'replicas', 3);
  if (size < 16 * MiB) throw new Error('--size-mib must be at least 16');
  if (replicas < 1 || replicas > HOSTS) throw new Error(`--replicas must be 1..${HOSTS}`);
  const cpuProfFlag = flags.get('cpu-prof');
  const cpuProf = cpuProfFlag === undefined ? null : path.resolve(cpuProfFlag === true ? 'bench-profiles' : cpuProfFlag);
  if (cpuProf) mkdirSync(cpuProf, { recursive: true });

  // The mixed set: the source, the owner's shard copies, the replicas, three restores (kept to the
  // end), restic's repository and a downloaded copy of every shard (new machine); the big file's own
  // copies (source, owner's, replicas, restore) on top.
  const need = 9 * size + 6 * bigSize + GiB;
  const free = freeBytes(os.tmpdir());
  // The filesystem the run writes to: os.tmpdir(), or a new one made for the run (--fresh-fs).
  let base = os.tmpdir();
  let removeFs: (() => void) | null = null;
  if (free < need) {
    throw new Error(
      `not enough free disk space in ${os.tmpdir()}: ${fixed(free / GiB, 1)} GiB free, this run needs about ${fixed(need / GiB, 1)} GiB ` +
        `(data ${fixed(size / MiB, 0)} MiB + big file ${fixed(bigSize / MiB, 0)} MiB, kept up to 5-7 times: source, owner copy, 3 replicas, restores). ` +
        'Free some space, set TMPDIR to a larger disk, or lower --size-mib / --big-file-mib.',
    );
  }

  if (flags.has('fresh-fs')) {
    const made = makeFreshFilesystem(need + 2 * GiB);
    base = made.dir;
    removeFs = made.remove;
    freshFsNote = `a new ext4 filesystem without a journal on a loop device with direct I/O, made for this run (\`--fresh-fs\`; its image in ${os.tmpdir()}): no earlier run's deleted files slow this one (see "Noise in restores")`;
  }
  const root = mkdtempSync(path.join(base, 'dbs-bench-backup-'));
  // The temp dir holds GiBs: remove it and every child whatever happens, Ctrl-C included.
  let cleaned = false;
  const cleanUp = () => {
    if (cleaned) return;
    cleaned = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    killAllProcesses();
    rmSync(root, { recursive: true, force: true });
    removeFs?.();
  };
  const onSignal = () => {
    console.error('\ninterrupted: stopping the peers and removing the temp dir ...');
    cleanUp();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', cleanUp);
  const started = performance.now();
  try {
    const results = await run(root, { size, bigSize, replicas, restic: !flags.has('no-restic'), cpuProf, connectionsPerSource: perSource || null });
    const text = section(results, (performance.now() - started) / 1000);
    console.log(`\n${text}`);
    if (flags.has('write')) writeSection('backup', text);
  } finally {
    cleanUp();
  }
}

try {
  await main();
} catch (err) {
  console.error(`bench:backup failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
}
