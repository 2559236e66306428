/**
 * Forget + prune after a history of snapshots, ours against restic's `forget --prune` on the same
 * history, in the same run. Small on purpose (the machine is shared): a few MiB, tens of snapshots.
 *
 *   node dist/bench/retention.js [--snapshots 40] [--files 300] [--keep 5] [--write] [--no-restic] [--cpu-prof DIR]
 *
 * 1. A source tree of `--files` random 16 KiB files in 10 folders (seeded: the same each run).
 * 2. Three host processes and an owner process on 127.0.0.1 (test/helpers/peer-child.ts),
 *    replicas 3; restic with a local repository.
 * 3. `--snapshots` times: 5% of the files rewritten and one added, then a backup by each.
 * 4. Timed: ours `forget --keep-last K` then `prune --max-unused 5`, the owner's peak RSS
 *    (VmHWM, reset before); restic `forget --keep-last K --prune --max-unused 5%` under
 *    /usr/bin/time -v. Then a dry-run prune says how the bytes on hosts compare with what the
 *    kept snapshots need.
 * `--write` replaces the section "## retention: ..." of docs/benchmarks.md. `--no-restic` skips
 * restic (for profiling); `--cpu-prof DIR` runs the owner with `node --cpu-prof` into DIR and
 * prints when its forget and prune began and ended, in seconds after the owner started (for
 * bench/cpuprofile-summary.ts --from/--to). Where the prune's time went (ms at each step's end)
 * is printed either way.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { PruneResult } from '../src/backup/prune.js';
import { killAllProcesses, type PeerChildConfig, PeerProcess, stopAllProcesses } from '../test/helpers/peer-process.js';
import { cleanUpOnSignal, fixed, intFlag, machineLines, markdownTable, megabytes, parseFlags, peakRssBytes, resetPeakRss, seededRandom, writeSection } from './common.js';
import { ensureRestic, killRestic, restic } from './backup/restic.js';

const MiB = 2 ** 20;
const FILE_BYTES = 16 * 1024;

function config(dataDir: string, bootstrap: string[]): PeerChildConfig {
  return {
    dataDir,
    storage: 4 * 2 ** 30,
    bootstrap,
    allowance: 1024 * 2 ** 30,
    dht: { lookupTimeoutMs: 1000, requestTimeoutMs: 1000, retries: 1 },
    backup: { shardSize: 4 * MiB, chunkSizes: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }, hostGraceMs: 0 },
  };
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['snapshots', 'files', 'keep', 'write', 'no-restic', 'cpu-prof']);
  const withRestic = !flags.has('no-restic');
  const cpuProfFlag = flags.get('cpu-prof');
  const cpuProf = cpuProfFlag === undefined ? null : path.resolve(cpuProfFlag === true ? 'bench-profiles' : cpuProfFlag);
  if (cpuProf) mkdirSync(cpuProf, { recursive: true });
  const snapshots = intFlag(flags, 'snapshots', 40);
  const files = intFlag(flags, 'files', 300);
  const keep = intFlag(flags, 'keep', 5);
  const root = mkdtempSync(path.join(os.tmpdir(), 'dbs-bench-retention-'));
  const cleanUp = () => {
    killAllProcesses();
    killRestic();
    rmSync(root, { recursive: true, force: true });
  };
  cleanUpOnSignal(cleanUp);
  try {
    const version = withRestic ? ensureRestic() : 'not run (--no-restic)';
    if (!version) throw new Error('restic is needed (apt-get install restic)');
    const source = path.join(root, 'source');
    const random = seededRandom(42);
    const fileAt = (i: number) => path.join(source, `d${i % 10}`, `f${i}.bin`);
    for (let d = 0; d < 10; d++) mkdirSync(path.join(source, `d${d}`), { recursive: true });
    let count = files;
    for (let i = 0; i < count; i++) writeFileSync(fileAt(i), randomBytes(FILE_BYTES));

    const first = await PeerProcess.start('h1', config(path.join(root, 'h1'), []));
    await Promise.all([2, 3].map((i) => PeerProcess.start(`h${i}`, config(path.join(root, `h${i}`), [first.address]))));
    const ownerStarted = performance.now();
    const owner = await PeerProcess.start('owner', config(path.join(root, 'owner'), [first.address]), cpuProf ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] } : {});
    const env = { ...process.env, RESTIC_REPOSITORY: path.join(root, 'restic'), RESTIC_PASSWORD: 'bench', RESTIC_CACHE_DIR: path.join(root, 'restic-cache') };
    if (withRestic) await restic(['init'], env, false);

    const t0 = performance.now();
    for (let s = 0; s < snapshots; s++) {
      if (s > 0) {
        for (let k = 0; k < Math.ceil(count * 0.05); k++) writeFileSync(fileAt(Math.floor(random() * count)), randomBytes(FILE_BYTES));
        writeFileSync(fileAt(count++), randomBytes(FILE_BYTES));
      }
      const r = await owner.ask<{ shortfall: number }>({ cmd: 'backup', path: source, replicas: 3 });
      if (r.shortfall) throw new Error(`backup ${s}: ${r.shortfall} replica(s) short`);
      if (withRestic) await restic(['backup', '--host', 'bench', source], env, false);
    }
    console.log(`history: ${snapshots} snapshots in ${fixed((performance.now() - t0) / 1000)} s (both tools)`);

    resetPeakRss(owner.pid);
    const start = performance.now();
    await owner.ask({ cmd: 'forget', keepLast: keep });
    const forgotten = performance.now();
    const pruned = await owner.ask<PruneResult & { stepMs: Record<string, number> }>({ cmd: 'prune', maxUnused: 5 });
    const ours = { seconds: (performance.now() - start) / 1000, peak: peakRssBytes(owner.pid) };
    const since = (t: number) => fixed((t - ownerStarted) / 1000, 2);
    console.log(`forget ${fixed((forgotten - start) / 1000, 2)} s; prune steps (ms from its start): ${JSON.stringify(pruned.stepMs)}`);
    if (cpuProf) console.log(`owner profile window: forget --from ${since(start)} --to ${since(forgotten)}, prune --from ${since(forgotten)} --to ${since(performance.now())}`);
    const after = await owner.ask<PruneResult>({ cmd: 'prune', maxUnused: 5, dryRun: true });
    const theirs = withRestic ? await restic(['forget', '--keep-last', String(keep), '--prune', '--max-unused', '5%'], env, true) : { seconds: NaN, peak: NaN };

    const t = pruned.plan.totals;
    const a = after.plan.totals;
    const rows = [
      ['ours: forget + prune', fixed(ours.seconds, 2), megabytes(ours.peak)],
      ['restic forget --prune', fixed(theirs.seconds, 2), megabytes(theirs.peak)],
    ];
    const section = [
      `## retention: forget + prune after ${snapshots} snapshots, ours vs restic`,
      '',
      ...machineLines(),
      `- restic: ${version}`,
      `- History: ${files} files of 16 KiB in 10 folders, then per snapshot 5% of the files rewritten and one added (${count} files at the end); owner + 3 host processes on 127.0.0.1, replicas 3, 4 MiB shards; restic to a local repository. Keep the last ${keep}.`,
      '',
      markdownTable(['', 'wall time (s)', 'peak RSS'], rows),
      '',
      `Ours before prune: ${t.shards} shards, ${fixed(t.bytes / MiB, 2)} MiB (x3 on hosts), ${fixed(t.usedBytes / MiB, 2)} MiB needed by the kept snapshots; ` +
        `it dropped ${pruned.plan.drop} shard(s), repacked ${pruned.plan.repack} into ${pruned.repackedInto}, cancelled ${pruned.cancelled} contract(s). ` +
        `After: ${a.shards} shards, ${fixed(a.bytes / MiB, 2)} MiB on each replica for ${fixed(a.usedBytes / MiB, 2)} MiB of needed blobs ` +
        `(${fixed(((a.bytes - a.usedBytes) / Math.max(1, a.usedBytes)) * 100)}% more: index, catalog and shard framing, goal ≤ 10%).`,
      'The owner\'s time includes placing the repacked and metadata shards on 3 hosts over loopback and the cancellation round trips; restic writes to a local disk. The machine is shared (2 cores, other engineers\' builds and tests running): figures move by tens of percent from run to run.',
    ].join('\n');
    console.log(section);
    if (flags.has('write')) writeSection('retention', section);
    await stopAllProcesses();
  } finally {
    cleanUp();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  killAllProcesses();
  process.exit(1);
});
