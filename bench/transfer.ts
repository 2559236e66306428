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
 *
 * The parts, in bench/transfer/: settings.ts (loopback, goals), shard.ts (the shard and its
 * contracts), host.ts (the host process), pipes.ts (the raw TCP pipes, the reference),
 * measure.ts (the rows and one timed run), report.ts (the section). This file runs the rows
 * and cleans up whatever happens.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateSigningKeyPair, signingKeyPairFromSeed } from '../src/crypto/ed25519.js';
import { ShardHasher } from '../src/storage/merkle.js';
import { ShardStore } from '../src/storage/shard-store.js';
import { TransferClient } from '../src/transfer/client.js';
import { cleanUpOnSignal, filesystemOf, fixed, intFlag, max, parseFlags, peakRssBytes, resetPeakRss, writeSection } from './common.js';
import { type HostProcess, startHost, stopHost } from './transfer/host.js';
import { measureOnce, measurements, type Setup } from './transfer/measure.js';
import { type Context, mib, mibPerSecond, type Result, section } from './transfer/report.js';
import { MiB } from './transfer/settings.js';
import { hashSpeed, makeContracts, storePending, writeShard } from './transfer/shard.js';

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
    owner: max([ownerStartPeak, peakRssBytes(process.pid), ...all.map((x) => x.ownerPeak)]),
    host: max([hostStartPeak, hostEndPeak, ...all.map((x) => x.hostPeak)]),
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
