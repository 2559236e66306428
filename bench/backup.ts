/**
 * Backup and restore of a mixed data set through a network of five processes on 127.0.0.1 (one
 * owner, four hosts, replicas = 3), against restic backing up and restoring the same data to a
 * local repository, in the same run.
 *
 *   node dist/bench/backup.js [--size-mib 1024] [--big-file-mib 4096] [--replicas 3] [--write]
 *                             [--no-restic] [--cpu-prof DIR] [--host-connections-per-source N] [--fresh-fs]
 *                             [--data-set mixed|software|small-files] [--files N]
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
 *    Both then back the data up again with nothing changed, and again after 1% of the files were
 *    edited in place (bench/backup/small-trees.ts: changeFiles).
 * 4. One random file of `--big-file-mib` is backed up and restored by the owner: its peak RSS.
 * `--data-set software` is a node_modules-like tree (1,500 packages, ~15,000 small files),
 * `--data-set small-files` 100,000 small files 100 a folder (small-trees.ts); neither uses --size-mib; `--files N` sizes the small-files set (to profile a smaller one).
 *
 * Peak RSS is the kernel's high-water mark (VmHWM) of each process during a phase, reset before it
 * through /proc/PID/clear_refs (restic: `/usr/bin/time -v`, else polling /proc). `--write` replaces the
 * section "## backup: ..." of docs/benchmarks.md. Temp files and child processes are removed at the end,
 * also on error or Ctrl-C. `--cpu-prof DIR` runs the owner processes and host1 with `--cpu-prof` into DIR (see
 * bench/cpuprofile-summary.ts). `--host-connections-per-source N` sets the hosts' TransferServer
 * `maxConnectionsPerSource` (default: the library's), e.g. to get past a connection leak. `--fresh-fs` (root)
 * runs on a new ext4 filesystem on a loop device made for the run and removed after it (see makeFreshFilesystem).
 *
 * The parts, in bench/backup/: settings.ts (sizes, goals), data-set.ts, speeds.ts (one core),
 * measure.ts (a timed phase of peer processes), tree-check.ts (restores against the source),
 * restic.ts, disk.ts (free space, --fresh-fs), run.ts (the flow above), report.ts (the section).
 * This file reads the flags, checks the disk, and cleans up whatever happens.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { killAllProcesses } from '../test/helpers/peer-process.js';
import { cleanUpOnSignal, fixed, intFlag, parseFlags, writeSection } from './common.js';
import { freeBytes, makeFreshFilesystem } from './backup/disk.js';
import { section } from './backup/report.js';
import { killRestic } from './backup/restic.js';
import { run } from './backup/run.js';
import { DATA_SETS, type DataSetName } from './backup/data-set.js';
import { DEFAULT_BIG_FILE_MIB, DEFAULT_SIZE_MIB, GiB, HOSTS, MiB } from './backup/settings.js';

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['size-mib', 'big-file-mib', 'replicas', 'write', 'no-restic', 'cpu-prof', 'host-connections-per-source', 'fresh-fs', 'data-set', 'files']);
  const perSource = intFlag(flags, 'host-connections-per-source', 0);
  const size = intFlag(flags, 'size-mib', DEFAULT_SIZE_MIB) * MiB;
  const bigSize = intFlag(flags, 'big-file-mib', DEFAULT_BIG_FILE_MIB) * MiB;
  const replicas = intFlag(flags, 'replicas', 3);
  const dataSetFlag = flags.get('data-set') ?? 'mixed';
  if (!(DATA_SETS as readonly unknown[]).includes(dataSetFlag)) throw new Error(`--data-set must be one of ${DATA_SETS.join(', ')}`);
  const dataSet = dataSetFlag as DataSetName;
  const files = intFlag(flags, 'files', 0) || null;
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
  let freshFsNote: string | null = null;
  if (free < need) {
    throw new Error(
      `not enough free disk space in ${os.tmpdir()}: ${fixed(free / GiB, 1)} GiB free, this run needs about ${fixed(need / GiB, 1)} GiB ` +
        `(data ${fixed(size / MiB, 0)} MiB + big file ${fixed(bigSize / MiB, 0)} MiB, kept up to 5-7 times: source, owner copy, 3 replicas, restores). ` +
        'Free some space, set TMPDIR to a larger disk, or lower --size-mib / --big-file-mib.',
    );
  }

  if (flags.has('fresh-fs')) {
    // Inodes: the source, three restores, the hosts' shard files and the databases.
    const made = makeFreshFilesystem(need + 2 * GiB, (files ?? 0) * 5 + 1_000_000);
    base = made.dir;
    removeFs = made.remove;
    freshFsNote = made.note;
  }
  const root = mkdtempSync(path.join(base, 'dbs-bench-backup-'));
  // The temp dir holds GiBs: remove it and every child whatever happens, Ctrl-C included.
  let cleaned = false;
  const cleanUp = () => {
    if (cleaned) return;
    cleaned = true;
    killRestic();
    killAllProcesses();
    rmSync(root, { recursive: true, force: true });
    removeFs?.();
  };
  cleanUpOnSignal(cleanUp, '\ninterrupted: stopping the peers and removing the temp dir ...');
  process.once('exit', cleanUp);
  const started = performance.now();
  try {
    const results = await run(root, { size, bigSize, replicas, restic: !flags.has('no-restic'), cpuProf, connectionsPerSource: perSource || null, dataSet, files });
    const text = section(results, (performance.now() - started) / 1000, freshFsNote);
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
