/**
 * One shard between two processes on 127.0.0.1: our PUT and GET against plain TCP pipes of
 * the same bytes between the same two processes, in the same run.
 *
 *   node dist/bench/transfer.js [--size-mib 1024] [--runs 3] [--write]
 *
 * This process is the owner. It writes the shard (pseudo-random) to a temp dir, hashes it,
 * signs one contract per run and stores them as pending in the host's database, then starts
 * the host (bench/host-process.ts). Every measurement runs `--runs` times, interleaved, so a
 * drift of the machine hits all of them alike; the table shows medians. Peak RSS is measured
 * per measurement in both processes: the kernel's high-water mark is reset before it
 * (/proc/PID/clear_refs) and read after it (VmHWM). Temp files (several GiB at the default
 * size) are removed at the end, also on error or Ctrl-C.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, type Hash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, promises as fs, rmSync } from 'node:fs';
import net, { type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { Contract } from '../src/contracts/contract.js';
import { signedContract } from '../test/helpers/host-harness.js';
import { ContractStore } from '../src/contracts/store.js';
import { generateSigningKeyPair, type SigningKeyPair, signingKeyPairFromSeed } from '../src/crypto/ed25519.js';
import { openDatabase } from '../src/storage/database.js';
import { LEAF_SIZE, ShardHasher } from '../src/storage/merkle.js';
import { ShardStore } from '../src/storage/shard-store.js';
import { TransferClient } from '../src/transfer/client.js';
import { cleanUpOnSignal, collectGarbage, filesystemOf, fixed, intFlag, machineLines, markdownTable, median, parseFlags, peakRssBytes, percent, resetPeakRss, writeSection } from './common.js';

const MiB = 2 ** 20;
const HOST = '127.0.0.1';
const HOST_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'host-process.js');
/** The goals. */
const GOAL_RATIO = 0.8;
const GOAL_RSS_BYTES = 150e6;

// --- the shard ------------------------------------------------------------------------------------

interface Shard {
  file: string;
  size: number;
  /** The shard ID (what contracts name). */
  hash: Uint8Array;
  root: Uint8Array;
  /** Plain SHA-256 of the bytes, what the raw SHA-256 rows answer. */
  sha256: Uint8Array;
}

/**
 * Writes `size` bytes: one random MiB over and over, with a counter stamped at the start of
 * every 64 KiB leaf so that no two leaves are equal, hashed as it goes. Holds one MiB, never
 * the shard: fast to make, and the owner's memory stays its own.
 */
async function writeShard(file: string, size: number): Promise<Shard> {
  const block = randomBytes(MiB);
  const hasher = new ShardHasher();
  const sha256 = createHash('sha256');
  const handle = await fs.open(file, 'wx', 0o600);
  try {
    let leaf = 0;
    for (let off = 0; off < size; off += MiB) {
      const chunk = block.subarray(0, Math.min(MiB, size - off));
      for (let at = 0; at + 4 <= chunk.length; at += LEAF_SIZE) chunk.writeUInt32BE(leaf++, at);
      hasher.update(chunk);
      sha256.update(chunk);
      const { bytesWritten } = await handle.write(chunk, 0, chunk.length, off);
      if (bytesWritten !== chunk.length) throw new Error(`short write to ${file}`);
    }
  } finally {
    await handle.close();
  }
  const d = hasher.digest();
  return { file, size, hash: d.hash, root: d.root, sha256: new Uint8Array(sha256.digest()) };
}

/** MiB/s of `update` over 256 MiB on one core: what verification costs on this machine. */
function hashSpeed(update: (chunk: Buffer) => void): number {
  const block = randomBytes(MiB);
  const start = performance.now();
  for (let i = 0; i < 256; i++) update(block);
  return 256 / ((performance.now() - start) / 1000);
}

// --- contracts ------------------------------------------------------------------------------------

/** One contract per run: a PUT needs a pending contract, and a PUT makes its contract active. */
function makeContracts(owner: SigningKeyPair, hostKeys: SigningKeyPair, shard: Shard, n: number): Contract[] {
  return Array.from({ length: n }, () => signedContract(hostKeys, owner, shard, { ownerOffer: 2 ** 33 }));
}

/** Stores the contracts as the host would after negotiation, before the host process opens the database. */
function storePending(dbFile: string, contracts: Contract[]): void {
  const db = openDatabase(dbFile);
  try {
    const store = new ContractStore(db);
    const now = Date.now();
    for (const contract of contracts) {
      store.insert({ contract, role: 'host', counterpartAddress: null, state: 'pending', reservedUntil: now + 86_400_000, now });
    }
  } finally {
    db.close();
  }
}

// --- the host process -----------------------------------------------------------------------------

type RawName = 'discard' | 'sha256' | 'file' | 'sha256File' | 'verifyFile' | 'get';

interface HostProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  raw: Record<RawName, number>;
  /** Sends a command line and returns the host's next JSON line. */
  ask(command: string): Promise<Record<string, unknown>>;
}

async function startHost(args: string[]): Promise<HostProcess> {
  const child = spawn(process.execPath, [HOST_SCRIPT, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await lines.next();
    if (line.done) throw new Error('the host process exited');
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  const hello = (await next()) as { port: number; raw: Record<RawName, number> };
  return {
    child,
    pid: child.pid!,
    port: hello.port,
    raw: hello.raw,
    ask(command) {
      child.stdin!.write(`${command}\n`);
      return next();
    },
  };
}

/** Stops the host; returns its peak RSS since the last reset, in KiB. */
async function stopHost(host: HostProcess): Promise<number> {
  const exited = new Promise((resolve) => host.child.once('exit', resolve));
  const { maxRSS } = (await host.ask('stop')) as { maxRSS: number };
  await exited;
  return maxRSS;
}

// --- sockets ---------------------------------------------------------------------------------------

function connect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port, noDelay: true, allowHalfOpen: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Everything the socket sends until it ends. */
function readAll(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const all = finished(socket, { writable: false }).then(() => Buffer.concat(chunks));
  // Awaited later; this only keeps an early failure from being reported as unhandled.
  all.catch(() => {});
  return all;
}

/** What the owner does with a raw download: count the bytes, or also hash them once, or verify them as our GET does. */
type DownloadCheck = 'count' | 'sha256' | 'shard';

/** Where downloads go. */
class Sink extends Writable {
  bytes = 0;
  private readonly sha256: Hash | undefined;
  private readonly hasher: ShardHasher | undefined;

  constructor(check: DownloadCheck) {
    super({ highWaterMark: MiB });
    this.sha256 = check === 'sha256' ? createHash('sha256') : undefined;
    this.hasher = check === 'shard' ? new ShardHasher() : undefined;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.bytes += chunk.length;
    this.sha256?.update(chunk);
    this.hasher?.update(chunk);
    done();
  }

  /** Throws unless the bytes are the shard (as far as this sink checks). */
  check(shard: Shard): void {
    if (this.bytes !== shard.size) throw new Error(`download got ${this.bytes} of ${shard.size} bytes`);
    const hash = this.sha256?.digest();
    if (hash && !hash.equals(shard.sha256)) throw new Error('download: wrong SHA-256');
    const d = this.hasher?.digest();
    if (d && !(Buffer.from(d.hash).equals(shard.hash) && Buffer.from(d.root).equals(shard.root))) throw new Error('download: wrong hash or root');
  }
}

/** When the sender read the last byte of the shard (performance.now()); NaN for downloads. */
interface Timing {
  lastByteRead: number;
}

/** The sender's side of every upload: the shard file with 1 MiB reads. */
function readShard(shard: Shard, timing: Timing) {
  return createReadStream(shard.file, { highWaterMark: MiB }).once('end', () => (timing.lastByteRead = performance.now()));
}

async function rawUpload(port: number, shard: Shard, expected: string, timing: Timing): Promise<void> {
  const socket = await connect(port);
  try {
    const answer = readAll(socket);
    await pipeline(readShard(shard, timing), socket);
    const got = (await answer).toString();
    if (got !== expected) throw new Error(`raw upload answered "${got}", expected "${expected}"`);
  } finally {
    socket.destroy();
  }
}

async function rawDownload(port: number, shard: Shard, check: DownloadCheck): Promise<void> {
  const socket = await connect(port);
  try {
    const sink = new Sink(check);
    await pipeline(socket, sink);
    sink.check(shard);
  } finally {
    socket.destroy();
  }
}

// --- what is measured -------------------------------------------------------------------------------

type Direction = 'upload' | 'download';

interface Measurement {
  direction: Direction;
  path: string;
  /** What the receiving side does with the bytes. */
  work: string;
  /** The raw pipe the goal compares against. */
  reference?: true;
  ours?: true;
  /** Untimed preparation; `run` is timed. All get the run's index. */
  before?(run: number): Promise<void>;
  run(run: number, timing: Timing): Promise<void>;
  after?(run: number): Promise<void>;
}

interface Setup {
  shard: Shard;
  host: HostProcess;
  store: ShardStore;
  contracts: Contract[];
  client: TransferClient;
  rawFile: string;
}

function measurements(s: Setup): Measurement[] {
  const { shard, host } = s;
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const address = { host: HOST, port: host.port };
  const removeRawFile = async () => fs.rm(s.rawFile, { force: true });
  return [
    { direction: 'upload', path: 'raw pipe', work: 'discard', reference: true, run: (_, t) => rawUpload(host.raw.discard, shard, 'ok', t) },
    { direction: 'upload', path: 'raw pipe + SHA-256', work: 'one SHA-256 pass, discard', run: (_, t) => rawUpload(host.raw.sha256, shard, hex(shard.sha256), t) },
    { direction: 'upload', path: 'raw pipe to a file', work: 'write, fsync', run: (_, t) => rawUpload(host.raw.file, shard, 'ok', t), after: removeRawFile },
    {
      direction: 'upload',
      path: 'raw pipe, SHA-256 + file',
      work: 'one SHA-256 pass, write, fsync',
      run: (_, t) => rawUpload(host.raw.sha256File, shard, hex(shard.sha256), t),
      after: removeRawFile,
    },
    {
      direction: 'upload',
      path: 'raw pipe, verify + file',
      work: 'leaf hashes on the main thread (ShardHasher), write, fsync',
      run: (_, t) => rawUpload(host.raw.verifyFile, shard, hex(shard.hash) + hex(shard.root), t),
      after: removeRawFile,
    },
    {
      direction: 'upload',
      path: 'ours: TransferClient.put',
      work: 'leaf hashes on a worker, 1 MiB writes, fsync, rename, ack (ShardStore.receive)',
      ours: true,
      // A host never receives a shard it already has; without this the rename would also unlink the old copy.
      before: () => s.store.delete(shard.hash),
      // From the file path, as Peer.placeShard uploads (send-file.ts: 1 MiB reads into two reused buffers).
      run: (i, t) => s.client.put(address, s.contracts[i]!, shard.file, () => (t.lastByteRead = performance.now())),
    },
    { direction: 'download', path: 'raw pipe', work: 'owner counts bytes', reference: true, run: () => rawDownload(host.raw.get, shard, 'count') },
    { direction: 'download', path: 'raw pipe + SHA-256', work: 'owner: one SHA-256 pass', run: () => rawDownload(host.raw.get, shard, 'sha256') },
    { direction: 'download', path: 'raw pipe, verify', work: 'owner: leaf hashes on the main thread (ShardHasher)', run: () => rawDownload(host.raw.get, shard, 'shard') },
    {
      direction: 'download',
      path: 'ours: TransferClient.get',
      work: 'owner: leaf hashes on a worker (verifying stream)',
      ours: true,
      // Uses the contract the PUT of the same run made active.
      run: async (i) => {
        const sink = new Sink('count');
        await pipeline(await s.client.get(address, s.contracts[i]!), sink);
        sink.check(shard);
      },
    },
  ];
}

interface Sample {
  seconds: number;
  /** Uploads: from reading the last byte to the receiver's answer (what the receiver still had to do). */
  tailSeconds: number;
  ownerPeak: number;
  hostPeak: number;
}

/**
 * Before each measurement: flush the dirty pages the previous one left (so their writeback
 * does not slow this one down) and collect garbage in both processes (so a peak is this
 * measurement's own memory, not what the previous one left behind).
 */
async function settle(host: HostProcess): Promise<void> {
  execFileSync('sync');
  collectGarbage();
  await host.ask('gc');
}

async function measureOnce(m: Measurement, run: number, host: HostProcess): Promise<Sample> {
  await m.before?.(run);
  await settle(host);
  resetPeakRss(process.pid);
  resetPeakRss(host.pid);
  const timing: Timing = { lastByteRead: NaN };
  const start = performance.now();
  await m.run(run, timing);
  const end = performance.now();
  const sample = {
    seconds: (end - start) / 1000,
    tailSeconds: (end - timing.lastByteRead) / 1000,
    ownerPeak: peakRssBytes(process.pid),
    hostPeak: peakRssBytes(host.pid),
  };
  await m.after?.(run);
  return sample;
}

// --- report ----------------------------------------------------------------------------------------

interface Result {
  m: Measurement;
  samples: Sample[];
}

const mibPerSecond = (bytes: number, seconds: number) => bytes / MiB / seconds;
const mib = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / MiB).toFixed(0)} MiB` : '-');
const maxOf = (values: number[]) => values.reduce((a, b) => Math.max(a, b), -Infinity);

/** Median throughput: the shard size over the median time. */
function speed(r: Result, size: number): number {
  return mibPerSecond(size, median(r.samples.map((x) => x.seconds)));
}

function referenceFor(results: Result[], direction: Direction): Result {
  return results.find((r) => r.m.direction === direction && r.m.reference)!;
}

function oursFor(results: Result[], direction: Direction): Result {
  return results.find((r) => r.m.direction === direction && r.m.ours)!;
}

function tableRows(results: Result[], size: number): string[][] {
  return results.map((r) => {
    const ref = speed(referenceFor(results, r.m.direction), size);
    return [
      r.m.direction,
      r.m.path,
      r.m.work,
      fixed(speed(r, size), 0),
      r.samples.map((x) => fixed(mibPerSecond(size, x.seconds), 0)).join(' / '),
      percent(speed(r, size) / ref),
      r.m.direction === 'upload' ? `${fixed(median(r.samples.map((x) => x.tailSeconds)), 2)} s` : '-',
      mib(maxOf(r.samples.map((x) => x.ownerPeak))),
      mib(maxOf(r.samples.map((x) => x.hostPeak))),
    ];
  });
}

const HEADER = ['direction', 'path', 'receiver does', 'MiB/s (median)', 'each run, MiB/s', 'vs raw pipe', 'answer after last byte', 'owner peak RSS', 'host peak RSS'];

/** Median speed of the row with this path, as a share of the raw pipe's. */
function share(results: Result[], direction: Direction, p: string, size: number): number {
  const r = results.find((x) => x.m.direction === direction && x.m.path === p)!;
  return speed(r, size) / speed(referenceFor(results, direction), size);
}

function goalLines(results: Result[], size: number): string[] {
  const lines: string[] = [];
  for (const direction of ['upload', 'download'] as const) {
    const ours = speed(oursFor(results, direction), size);
    const raw = speed(referenceFor(results, direction), size);
    const ratio = ours / raw;
    lines.push(
      `- ${direction === 'upload' ? 'Upload (PUT)' : 'Download (GET)'}: ${fixed(ours, 0)} MiB/s, ${percent(ratio)} of the raw pipe's ` +
        `${fixed(raw, 0)} MiB/s: ${ratio >= GOAL_RATIO ? 'met' : 'not met'} (goal: at least ${percent(GOAL_RATIO)}).`,
    );
  }
  const peaksOf = (who: 'ownerPeak' | 'hostPeak') => (['upload', 'download'] as const).flatMap((d) => oursFor(results, d).samples.map((x) => x[who]));
  const owner = maxOf(peaksOf('ownerPeak'));
  const host = maxOf(peaksOf('hostPeak'));
  const worst = Math.max(owner, host);
  lines.push(
    `- Peak RSS during our PUT and GET: owner ${mib(owner)}, host ${mib(host)}: ` +
      `${!Number.isFinite(worst) ? 'not measured (no /proc)' : worst < GOAL_RSS_BYTES ? 'met' : 'not met'} (goal: under 150 MB = ${mib(GOAL_RSS_BYTES)} each).`,
  );
  return lines;
}

/** Where the time goes: ours against the raw rows that do part of its work. */
function costLines(results: Result[], size: number): string[] {
  const of = (d: Direction, p: string) => percent(share(results, d, p, size));
  const ours = (d: Direction) => percent(speed(oursFor(results, d), size) / speed(referenceFor(results, d), size));
  return [
    'Where the time goes (share of the raw pipe in the same direction):',
    '',
    `- Upload: one SHA-256 pass on the host ${of('upload', 'raw pipe + SHA-256')}; writing and fsyncing the file ${of('upload', 'raw pipe to a file')}; ` +
      `one SHA-256 pass plus the file ${of('upload', 'raw pipe, SHA-256 + file')}; ` +
      `leaf hashes plus the file, on the main thread, without our protocol, ${of('upload', 'raw pipe, verify + file')}; our PUT ${ours('upload')}.`,
    `- Download: one SHA-256 pass on the owner ${of('download', 'raw pipe + SHA-256')}; leaf hashes on the main thread, without our protocol, ` +
      `${of('download', 'raw pipe, verify')}; our GET ${ours('download')}.`,
    '- "Answer after last byte": from the sender reading the last byte of the file (ours: handing it to the socket) to the receiver\'s answer, i.e. what',
    '  the receiver still had to do (the bytes still in socket buffers, and for the file rows the fsync of what the page',
    '  cache had not written yet).',
    '- Rows that write the file depend on the disk and on when the kernel throttles a writer that dirties pages',
    '  faster than the disk takes them; they vary more from run to run than the others.',
  ];
}

interface Context {
  size: number;
  runs: number;
  sha256Speed: number;
  hasherSpeed: number;
  tmp: string;
  filesystem: string;
  peakResets: boolean;
  wholeRun: { owner: number; host: number };
}

function section(c: Context, results: Result[]): string {
  return [
    '## transfer: one shard between two processes on loopback',
    '',
    ...machineLines(),
    `- Temp dir: ${c.tmp} (${c.filesystem}); ${fixed(os.totalmem() / 2 ** 30, 0)} GiB RAM, so the shard file is read from the page cache`,
    '',
    `One shard of ${c.size / MiB} MiB (pseudo-random) between this process, the owner, and a host in its own process`,
    '(`bench/host-process.ts`: SQLite contract store, `ShardStore`, `TransferServer`; no UDP side) on 127.0.0.1,',
    'against plain TCP pipes of the same bytes between the same two processes, in the same run. Uploads read the',
    'shard file with 1 MiB reads (raw rows: a read stream; our PUT: `TransferClient.put` from the file path, two reused',
    '1 MiB buffers); the raw download server reads the stored shard with a 1 MiB read stream, our GET the same way as',
    `our PUT (\`send-file.ts\`). Each row ran ${c.runs} times, interleaved with the others; MiB/s is the shard size over`,
    `the ${c.runs % 2 === 0 ? 'lower median' : 'median'} time, from connect to the receiver's answer (uploads) or to the last byte (downloads).`,
    'Before each measurement: `sync`, and a full GC in both processes. Both processes share the machine\'s cores.',
    '',
    'The comparison is not like for like, on purpose: the raw pipe is the ceiling. Our PUT makes the host',
    "check the owner's signature, then hash every byte once (SHA-256 of each 64 KiB Merkle leaf; the shard ID",
    'is derived from the root and the size), write it to a temporary file in 1 MiB writes (with a background',
    'fdatasync every 32 MiB), fsync it, write the leaf hashes, rename and fsync the directory before it',
    'acknowledges. Our GET makes the owner hash every leaf the same way as it streams. In both, the leaf hashing',
    "runs on a worker thread of the receiving process, while its main thread keeps reading the socket. The raw",
    'pipe does none of that; the other raw rows add the pieces one at a time, on the main thread, in series',
    'with reading the socket (their file rows use a plain WriteStream).',
    `One core here does SHA-256 at ${fixed(c.sha256Speed, 0)} MiB/s, and \`ShardHasher\` (the leaf hashes) at ${fixed(c.hasherSpeed, 0)} MiB/s.`,
    '',
    'Peak RSS: the kernel\'s high-water mark (VmHWM) of each process during the measurement, the highest of the',
    c.peakResets
      ? 'runs; it is reset before each measurement through `/proc/PID/clear_refs`.'
      : 'runs; it could not be reset here, so each figure is the peak of the process so far.',
    `Peaks over the whole run: owner ${mib(c.wholeRun.owner)} (including writing and hashing the shard), host ${mib(c.wholeRun.host)}.`,
    '',
    markdownTable(HEADER, tableRows(results, c.size)),
    '',
    'Goals from the issue:',
    '',
    ...goalLines(results, c.size),
    '',
    ...costLines(results, c.size),
    '',
  ].join('\n');
}

// --- main ------------------------------------------------------------------------------------------

async function run(root: string, size: number, runs: number, onHost: (h: HostProcess) => void): Promise<{ context: Context; results: Result[] }> {
  const ownerDir = path.join(root, 'owner');
  const hostDir = path.join(root, 'host');
  mkdirSync(ownerDir);
  mkdirSync(hostDir);

  console.log(`writing and hashing a ${size / MiB} MiB shard in ${root} ...`);
  const shard = await writeShard(path.join(ownerDir, 'shard.bin'), size);
  const sha256Speed = hashSpeed((b) => createHash('sha256').update(b));
  const hasher = new ShardHasher();
  const hasherSpeed = hashSpeed((b) => hasher.update(b));
  const ownerStartPeak = peakRssBytes(process.pid);

  const seed = randomBytes(32);
  const hostKeys = signingKeyPairFromSeed(seed);
  const owner = generateSigningKeyPair();
  const contracts = makeContracts(owner, hostKeys, shard, runs);
  // The owner uses the host's store only for paths and to delete the shard between runs.
  const store = await ShardStore.open(path.join(hostDir, 'shards'));
  storePending(path.join(hostDir, 'peer.db'), contracts);
  const rawFile = path.join(hostDir, 'raw-upload.bin');
  const host = await startHost([hostDir, seed.toString('hex'), store.shardPath(shard.hash), rawFile]);
  onHost(host);
  const hostStartPeak = peakRssBytes(host.pid);

  const setup: Setup = { shard, host, store, contracts, client: new TransferClient(owner), rawFile };
  const list = measurements(setup);
  const results: Result[] = list.map((m) => ({ m, samples: [] }));
  const peakResets = resetPeakRss(process.pid) && resetPeakRss(host.pid);
  for (let i = 0; i < runs; i++) {
    for (const r of results) {
      const sample = await measureOnce(r.m, i, host);
      r.samples.push(sample);
      console.log(
        `run ${i + 1}/${runs}  ${r.m.direction.padEnd(8)} ${r.m.path.padEnd(26)} ${fixed(mibPerSecond(size, sample.seconds), 0).padStart(5)} MiB/s` +
          `  owner ${mib(sample.ownerPeak)}, host ${mib(sample.hostPeak)}`,
      );
    }
  }
  const hostEndPeak = (await stopHost(host)) * 1024;
  const all = results.flatMap((r) => r.samples);
  const wholeRun = {
    owner: maxOf([ownerStartPeak, peakRssBytes(process.pid), ...all.map((x) => x.ownerPeak)]),
    host: maxOf([hostStartPeak, hostEndPeak, ...all.map((x) => x.hostPeak)]),
  };
  return { context: { size, runs, sha256Speed, hasherSpeed, tmp: os.tmpdir(), filesystem: filesystemOf(root), peakResets, wholeRun }, results };
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['size-mib', 'runs', 'write']);
  const sizeMiB = intFlag(flags, 'size-mib', 1024);
  const runs = intFlag(flags, 'runs', 3);
  if (sizeMiB < 1 || runs < 1) throw new Error('--size-mib and --runs must be at least 1');

  const root = mkdtempSync(path.join(os.tmpdir(), 'dbs-bench-transfer-'));
  let host: HostProcess | undefined;
  // The temp dir holds GiB-sized files: remove it whatever happens, Ctrl-C included.
  const cleanUp = () => {
    if (host && host.child.exitCode === null && host.child.signalCode === null) host.child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  };
  cleanUpOnSignal(cleanUp);
  try {
    const { context, results } = await run(root, sizeMiB * MiB, runs, (h) => (host = h));
    const text = section(context, results);
    console.log(`\n${text}`);
    if (flags.has('write')) writeSection('transfer', text);
  } finally {
    cleanUp();
  }
}

await main();
