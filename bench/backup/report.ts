/**
 * The report of bench:backup: the results of a run (its rows and context) rendered as the
 * section of docs/benchmarks.md, with the table, the issue's goals and where the time goes.
 */
import os from 'node:os';
import { fixed, machineLines, markdownTable } from '../common.js';
import type { DataSet } from './data-set.js';
import type { Phase } from './measure.js';
import { ALLOWANCE, GiB, GOAL_BACKUP_RATIO, GOAL_OWNER_RSS, GOAL_RESTORE_RATIO, HOSTS, MiB, PEER_FLAGS, STORAGE } from './settings.js';
import type { Speeds } from './speeds.js';

export interface Row {
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

export interface Results {
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
  /** Where the owner was at its highest RSS in each timed phase, in the order run. */
  memoryNotes: string[];
}

const mib = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / MiB).toFixed(0)} MiB` : '-');

function table(r: Results): string {
  // The same operation by restic (re-backups), else its backup or restore.
  const resticRow = (op: string) =>
    !('version' in r.restic) ? null : (r.rows.find((x) => x.tool === 'restic' && x.operation === op) ?? (op.startsWith('backup') ? r.restic.backup : r.restic.restore));
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
  for (const note of r.memoryNotes) lines.push(`  - ${note}`);
  return lines;
}

/** The section "## backup: ..." of docs/benchmarks.md; `freshFsNote` says what --fresh-fs made, if it ran. */
export function section(r: Results, totalSeconds: number, freshFsNote: string | null): string {
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
