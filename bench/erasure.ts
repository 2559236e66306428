/**
 * Erasure coding speed on one core, beside SHA-256 in the same run, and what each scheme costs
 * in bytes held and repair traffic.
 *
 *   npm run bench:erasure            (node dist/bench/erasure.js [--seconds 1] [--file-mib 64] [--write])
 *
 * - encode / decode: src/erasure/codec.ts `codeStripe` over 256 KiB stripes (the format's),
 *   one call at a time (the addon runs each call on one threadpool thread: one core). Encode
 *   computes the N − K parity pieces from the K data pieces; decode rebuilds the missing data
 *   pieces from the worst case, as many parity pieces as there are. GB/s of shard bytes.
 * - sha-256: node:crypto over 64 KiB leaves (what the Merkle trees of storage/merkle.ts hash),
 *   one core, as the reference: every piece is hashed by its owner and again by its host.
 * - file: `encodePieceFiles` of a `--file-mib` shard on this disk: read, code, Merkle-hash and
 *   write N pieces, fsync and rename; MB/s of shard bytes, page cache warm.
 * - held: bytes all hosts keep per shard byte. repair per lost piece: what `planRepair` downloads
 *   and uploads per rebuilt piece when the owner has no copy, in shard sizes, at its threshold.
 */
import { createHash } from 'node:crypto';
import { openSync, closeSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { codeStripe, range, Stripe } from '../src/erasure/codec.js';
import { STRIPE_FRAGMENT_BYTES } from '../src/erasure/constants.js';
import { type ErasureScheme, layoutFor } from '../src/erasure/layout.js';
import { encodePieceFiles } from '../src/erasure/piece-files.js';
import { planRepair, repairThreshold } from '../src/erasure/plan.js';
import { LEAF_SIZE } from '../src/storage/merkle.js';
import { tempDir } from '../test/helpers/temp.js';
import { cleanUpOnSignal, collectGarbage, intFlag, machineLines, markdownTable, parseFlags, peakRssBytes, resetPeakRss, statusKiB, writeSection } from './common.js';

const F = STRIPE_FRAGMENT_BYTES;
const SCHEMES: { name: string; scheme: ErasureScheme }[] = [
  { name: 'replicas 3 (1/3)', scheme: { k: 1, n: 3 } },
  { name: '2/4', scheme: { k: 2, n: 4 } },
  { name: '3/6', scheme: { k: 3, n: 6 } },
  { name: '4/6', scheme: { k: 4, n: 6 } },
];

interface Rate {
  /** Bytes per second of wall time. */
  wall: number;
  /** Bytes per CPU-second of this process (all its threads): what one core does, however busy the machine. */
  cpu: number;
}

/** The rate of `bytesPerCall` over repeated calls for `seconds` (after a warm-up). */
async function rate(seconds: number, bytesPerCall: number, call: () => unknown): Promise<Rate> {
  for (let i = 0; i < 3; i++) await call();
  let calls = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await call();
    calls++;
  }
  const wall = (performance.now() - start) / 1000;
  const cpuUsed = process.cpuUsage(cpuStart);
  const cpu = (cpuUsed.user + cpuUsed.system) / 1e6;
  return { wall: (calls * bytesPerCall) / wall, cpu: (calls * bytesPerCall) / cpu };
}

const gb = (bytesPerSecond: number) => (bytesPerSecond / 1e9).toFixed(2);
const show = (r: Rate) => `${gb(r.cpu)} (${gb(r.wall)})`;
const GIB = 2 ** 30;

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['seconds', 'file-mib', 'write']);
  const seconds = intFlag(flags, 'seconds', 1);
  const fileBytes = intFlag(flags, 'file-mib', 64) * 2 ** 20;
  const dir = tempDir('dbs-bench-erasure-');
  cleanUpOnSignal(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const leaf = Buffer.alloc(LEAF_SIZE, 1);
    const sha = await rate(seconds, LEAF_SIZE, () => createHash('sha256').update(leaf).digest());
    // The shard file is written 1 MiB at a time: this process never holds it, so the peak RSS
    // of a file encode shows what the encoder holds (one stripe of N x 256 KiB, by design).
    const shardPath = path.join(dir, 'shard');
    const fd = openSync(shardPath, 'w');
    const block = Buffer.alloc(2 ** 20);
    for (let off = 0; off < fileBytes; off += block.length) {
      for (let i = 0; i < block.length; i += 4) block.writeUInt32LE(((off + i) * 2654435761) >>> 0, i);
      writeSync(fd, block, 0, Math.min(block.length, fileBytes - off));
    }
    closeSync(fd);
    const rows: (string | number)[][] = [];
    let slowest = Infinity;
    for (const { name, scheme } of SCHEMES) {
      const { k, n } = scheme;
      const stripe = new Stripe(scheme, F);
      stripe.data.fill(7);
      const encode = await rate(seconds, k * F, () => codeStripe(stripe, F, range(0, k), range(k, n)));
      // Decode from as much parity as there is: the data pieces that parity replaces are rebuilt.
      const parity = n - k;
      const sources = [...range(0, Math.max(0, k - parity)), ...range(k, n)].slice(-k).sort((a, b) => a - b);
      const missing = range(0, k).filter((i) => !sources.includes(i));
      const decode = await rate(seconds, k * F, () => codeStripe(stripe, F, sources, missing));
      slowest = Math.min(slowest, encode.cpu, missing.length > 0 ? decode.cpu : Infinity);
      collectGarbage();
      const rssBefore = statusKiB(process.pid, 'VmRSS') * 1024;
      const peakKnown = resetPeakRss(process.pid);
      const start = performance.now();
      await encodePieceFiles(shardPath, scheme, (i) => path.join(dir, `piece-${i}`));
      const file = fileBytes / ((performance.now() - start) / 1000);
      const peakGrowth = peakKnown ? `+${((peakRssBytes(process.pid) - rssBefore) / 2 ** 20).toFixed(0)} MiB` : '-';
      const layout = layoutFor(scheme, fileBytes);
      const threshold = repairThreshold(scheme);
      const repair = planRepair({ scheme, live: range(0, threshold), pieceSize: layout.pieceSize, localCopy: false });
      const perPiece = (bytes: number) => (bytes / repair.rebuild.length / fileBytes).toFixed(2);
      rows.push([
        name,
        show(encode),
        missing.length > 0 ? `${show(decode)}, ${missing.length} rebuilt` : 'none needed',
        `${(file / 2 ** 20).toFixed(0)} MiB/s, ${peakGrowth}`,
        `${((n * layout.pieceSize) / fileBytes).toFixed(2)}x`,
        `${n - k}`,
        `${threshold} live`,
        `${perPiece(repair.downloadBytes)}x / ${perPiece(repair.uploadBytes)}x`,
      ]);
      for (let i = 0; i < n; i++) rmSync(path.join(dir, `piece-${i}`), { force: true });
    }
    const table = markdownTable(
      ['scheme', 'encode GB/CPU-s (wall GB/s)', 'decode, worst case', 'file encode + Merkle, peak RSS', 'held', 'hosts lost ok', 'repair at', 'repair down / up per lost piece'],
      rows,
    );
    const section = [
      '## erasure: Reed-Solomon coding on one core (`npm run bench:erasure`)',
      '',
      ...machineLines(),
      `- Load average at the end (other work on the machine skews every figure alike): ${os.loadavg()[0]!.toFixed(1)}`,
      '',
      `Coding through src/erasure/codec.ts (@ronomon/reed-solomon) over the format's 256 KiB stripes, one call at a time (so at most one core), ${seconds} s per figure, in GB of shard bytes per CPU-second of the process (what one core does, which a busy machine slows less than wall time), wall-clock GB/s in brackets. Reference in the same run: node:crypto SHA-256 over 64 KiB leaves, one core: **${show(sha)}**. File encode: \`encodePieceFiles\` of a ${fileBytes / 2 ** 20} MiB shard in /tmp (read, code, Merkle-hash every piece, write, fsync, rename; one worker's worth of work, page cache warm), wall clock, and how far the process's peak RSS rose above its RSS before it (the shard is never in memory: one stripe is N x 256 KiB). Held: bytes on hosts per shard byte. Repair: what \`planRepair\` downloads and uploads per rebuilt piece, in shard sizes, when the owner has no copy (with its copy: 0 down).`,
      '',
      table,
      '',
      `Goal (issue 17): coding >= 1 GiB/s on one core: slowest figure ${gb(slowest)} GB per CPU-second, ${slowest >= GIB ? 'met' : 'NOT met'}. Coding costs ${slowest >= sha.cpu ? 'less' : 'more'} CPU per byte than SHA-256 (the Merkle hashing every piece gets from its owner and its host), so erasure coding adds little CPU to a backup: what it changes is bytes held (2x instead of 3x for the same two-host tolerance with 2/4) and uploads. Backup, restore and repair times with real peers need the backup wiring (not yet done).`,
    ].join('\n');
    console.log(section);
    if (flags.has('write')) writeSection('erasure', section);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
