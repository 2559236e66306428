/**
 * One run of bench:backup: the one-core speeds, the data set, four hosts and an owner; our
 * backup, restore on the same machine and on a new one; restic on the same data; one big file.
 * Returns the figures the report renders. Peer processes are stopped at the end, also on error.
 */
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import type { BackupResult, RestoreResult } from '../../src/index.js';
import { type PeerChildConfig, PeerProcess } from '../../test/helpers/peer-process.js';
import { filesystemOf, fixed, resetPeakRss } from '../common.js';
import { type DataSetName, makeNamedDataSet, writeRandomFile } from './data-set.js';
import { changeFiles } from './small-trees.js';
import { duBytes } from './disk.js';
import { measure, type Phase, rssBytes } from './measure.js';
import type { Results, Row } from './report.js';
import { ensureRestic, restic } from './restic.js';
import { ALLOWANCE, GiB, HOSTS, MiB, PEER_FLAGS, STORAGE } from './settings.js';
import { oneCoreSpeeds } from './speeds.js';
import { hashTree, verifyTree, warm } from './tree-check.js';

export interface RunOptions {
  size: number;
  bigSize: number;
  replicas: number;
  restic: boolean;
  cpuProf: string | null;
  connectionsPerSource: number | null;
  /** Which data set (data-set.ts); every one is also backed up again unchanged and with 1% of its files changed. */
  dataSet: DataSetName;
  /** Files in the small-files set (default: its own, 100,000), e.g. a smaller one to profile. */
  files?: number | null;
}

/** Fraction of the files edited before the "1% changed" re-backups. */
const CHANGED_FRACTION = 0.01;

/** Prints a peer's progress lines (at most one every 5 s, the peer's default). */
function printProgress(name: string): (p: Record<string, unknown>) => void {
  return (p) => {
    const pr = p as { kind: string; bytes: number; files: number; totalBytes?: number };
    const of = pr.totalBytes ? ` of ${(pr.totalBytes / MiB).toFixed(0)}` : '';
    console.log(`  [${name}] ${pr.kind}: ${pr.files} files, ${(pr.bytes / MiB).toFixed(0)}${of} MiB`);
  };
}


/** A peer process of the shared test helper (test/helpers/peer-child.ts), printing its progress. */
function startPeer(name: string, config: PeerChildConfig, nodeArgs: string[] = []): Promise<PeerProcess> {
  return PeerProcess.start(name, config, { nodeArgs: [...PEER_FLAGS, ...nodeArgs], onProgress: printProgress(name) });
}

function hostsSummary<T>(phase: Phase<T>): { hostPeak: number; hostCpu: number } {
  let hostPeak = 0;
  let hostCpu = 0;
  for (const [name, v] of phase.peaks) if (name.startsWith('host')) hostPeak = Math.max(hostPeak, v);
  for (const [name, v] of phase.cpu) if (name.startsWith('host')) hostCpu += v;
  return { hostPeak, hostCpu };
}

export function ourRow<T>(operation: string, bytes: number, phase: Phase<T>, owner: string, note: string, failed: string | null = null): Row {
  const timeouts = phase.timeouts > 0 ? `; ${phase.timeouts} UDP requests timed out` : '';
  const refused = [...phase.refused].map(([code, n]) => `${n} ${code}`).join(', ');
  const extra = `${timeouts}${refused ? `; hosts refused connections: ${refused}` : ''}${failed ? `; **restore incomplete**: ${failed}` : ''}`;
  return { tool: 'ours', operation, bytes, seconds: phase.seconds, peak: phase.peaks.get(owner)!, cpu: phase.cpu.get(owner)!, ...hostsSummary(phase), split: phase.split, note: note + extra, failed };
}

export async function run(root: string, opts: RunOptions): Promise<Results> {
  const load = os.loadavg().map((l) => l.toFixed(2)).join(', ');
  const memoryNotes: string[] = [];
  /** measure(), keeping its note on the owner's memory for the report. */
  const timed = async <T>(label: string, procs: PeerProcess[], fn: () => Promise<T>): Promise<Phase<T>> => {
    const phase = await measure(label, procs, fn);
    memoryNotes.push(phase.memoryNote);
    return phase;
  };
  const profileArgs = opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProf}`] : [];
  // Restored trees stay until the temp dir is removed at the end, not between phases: on ext4
  // without a journal (this machine's root filesystem) every file created in the seconds after
  // thousands were deleted costs up to ~0.5 ms of kernel time (inode allocation skips recently
  // deleted inodes, checking each), and a restore after another restore's removal measured
  // that, not the tool.

  console.log('one core: chunker, chunk IDs, sealing, opening, shard hashing over 256 MiB ...');
  const speeds = await oneCoreSpeeds();
  console.log(`  ${Object.entries(speeds).map(([k, v]) => `${k} ${fixed(v, 0)} MiB/s`).join(', ')}`);

  console.log(`writing the ${opts.dataSet} data set in ${root} ...`);
  const data = await makeNamedDataSet(opts.dataSet, path.join(root, 'data'), opts.size, opts.files ?? undefined);
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
    const backup = await timed('backup', all, () => owner.ask<BackupResult>({ cmd: 'backup', path: data.dir, replicas: opts.replicas }));
    const b = backup.value;
    console.log(`  ${fixed(backup.seconds, 1)} s: ${b.files} files, ${b.shards} shards, ${(b.uploadedBytes / MiB).toFixed(0)} MiB uploaded, shortfall ${b.shortfall}`);
    if (b.shortfall > 0) console.log(`  WARNING: ${b.shortfall} replicas missing`);
    const hostStored = hosts.reduce((s, _, i) => s + duBytes(path.join(root, `host${i}`, 'shards')), 0);
    const ownerCopy = duBytes(path.join(ownerDir, 'backup', 'shards'));

    console.log('ours: restore on the same machine ...');
    const destLocal = path.join(root, 'restore-ours-local');
    const restoreLocal = await timed('restore, same machine', all, () => owner.ask<RestoreResult>({ cmd: 'restore', snapshot: b.id, dest: destLocal }));
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
    const recover = await timed('catalog recovery (new machine)', withFresh, () => fresh.ask<{ id: string }[]>({ cmd: 'snapshots' }));
    if (!recover.value.some((s) => s.id === b.id)) throw new Error(`the new machine did not find snapshot ${b.id}`);
    const destRemote = path.join(root, 'restore-ours-remote');
    const restoreRemote = await timed('restore, new machine', withFresh, () => fresh.ask<RestoreResult>({ cmd: 'restore', snapshot: b.id, dest: destRemote }));
    console.log(`  recovery ${fixed(recover.seconds, 2)} s, restore ${fixed(restoreRemote.seconds, 1)} s, incomplete ${restoreRemote.value.incomplete.length}`);
    const remoteFailed = await verifyTree(destRemote, expected, 'ours (new machine)');

    console.log('ours: backup again, nothing changed ...');
    const again = await timed('backup again, unchanged', all, () => owner.ask<BackupResult>({ cmd: 'backup', path: data.dir, replicas: opts.replicas }));
    console.log(`  ${fixed(again.seconds, 2)} s, ${again.value.uploadedBytes} bytes uploaded, ${again.value.shards} shards`);
    const rebackups: Row[] = [ourRow('backup again, nothing changed', data.bytes, again, 'owner', `${again.value.uploadedBytes} bytes uploaded in ${again.value.shards} shard(s)`)];

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
    let resticAgain: (() => Promise<void>) | null = null;
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
        console.log('restic: backup again, nothing changed ...');
        const ra = await restic(['backup', '-q', '--host', 'bench', data.dir], env, useTime);
        rebackups.push({ tool: 'restic', operation: 'backup again, nothing changed', bytes: data.bytes, seconds: ra.seconds, peak: ra.peak, cpu: ra.cpu, note: 'local repository, parent snapshot' });
        console.log(`  ${fixed(ra.seconds, 2)} s`);
        resticAgain = async () => {
          const rc = await restic(['backup', '-q', '--host', 'bench', data.dir], env, useTime);
          rebackups.push({ tool: 'restic', operation: `backup again, ${CHANGED_FRACTION * 100}% of files changed`, bytes: data.bytes, seconds: rc.seconds, peak: rc.peak, cpu: rc.cpu, note: 'local repository, parent snapshot' });
          console.log(`  restic: ${fixed(rc.seconds, 2)} s`);
        };
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

    // --- re-backups after 1% of the files changed: ours, then restic's ---
    const changed = await changeFiles(data.dir, CHANGED_FRACTION);
    await warm(data.dir);
    console.log(`ours: backup again, ${changed} files changed ...`);
    const after = await timed('backup again, 1% changed', all, () => owner.ask<BackupResult>({ cmd: 'backup', path: data.dir, replicas: opts.replicas }));
    console.log(`  ${fixed(after.seconds, 2)} s, ${after.value.uploadedBytes} bytes uploaded, ${after.value.shards} shards`);
    rebackups.push(ourRow(`backup again, ${CHANGED_FRACTION * 100}% of files changed`, data.bytes, after, 'owner', `${changed} files changed; ${after.value.uploadedBytes} bytes uploaded in ${after.value.shards} shard(s)`));
    if (resticAgain) await resticAgain();

    // --- one big file: the owner's memory ---
    let big: Results['big'] = null;
    if (opts.bigSize > 0) {
      const bigDir = path.join(root, 'big');
      mkdirSync(bigDir);
      console.log(`writing a ${opts.bigSize / MiB} MiB random file ...`);
      await writeRandomFile(path.join(bigDir, 'big.bin'), opts.bigSize, 'big-file');
      const bigExpected = await hashTree(bigDir);
      console.log('ours: backup of the big file ...');
      const bb = await timed('backup, big file', all, () => owner.ask<BackupResult>({ cmd: 'backup', path: bigDir, replicas: opts.replicas }));
      console.log(`  ${fixed(bb.seconds, 1)} s, ${bb.value.shards} shards, owner peak ${(bb.peaks.get('owner')! / MiB).toFixed(0)} MiB`);
      const dest = path.join(root, 'restore-big');
      console.log('ours: restore of the big file (same machine) ...');
      const br = await timed('restore, big file', all, () => owner.ask<RestoreResult>({ cmd: 'restore', snapshot: bb.value.id, dest }));
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
    rows.push(...rebackups);
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
      memoryNotes,
    };
  } finally {
    await Promise.all([...all, ...extra].map((p) => p.stop()));
  }
}
