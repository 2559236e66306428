/**
 * The section bench:transfer writes to docs/benchmarks.md: the table of medians, the issue's
 * goals, and where the time goes.
 */
import os from 'node:os';
import { fixed, machineLines, markdownTable, max, median, percent } from '../common.js';
import type { Direction, Measurement, Sample } from './measure.js';
import { GOAL_RATIO, GOAL_RSS_BYTES, MiB } from './settings.js';

export interface Result {
  m: Measurement;
  samples: Sample[];
}

export const mibPerSecond = (bytes: number, seconds: number) => bytes / MiB / seconds;
export const mib = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / MiB).toFixed(0)} MiB` : '-');

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
      mib(max(r.samples.map((x) => x.ownerPeak))),
      mib(max(r.samples.map((x) => x.hostPeak))),
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
  const owner = max(peaksOf('ownerPeak'));
  const host = max(peaksOf('hostPeak'));
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

export interface Context {
  size: number;
  runs: number;
  sha256Speed: number;
  hasherSpeed: number;
  tmp: string;
  filesystem: string;
  peakResets: boolean;
  wholeRun: { owner: number; host: number };
}

export function section(c: Context, results: Result[]): string {
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
