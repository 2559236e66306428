/**
 * Prune planning's memory for an index of a million needed chunks (issue 16: under 200 MiB,
 * where restic's prune ran out of memory, restic #1723/#3844). In this process: the needed-chunk
 * set (src/retention/chunk-set.ts) of `--chunks` IDs, then planPrune over an index of 1.25x as
 * many chunks in shards of 16, streamed one shard at a time. Reports the set's bytes, heap and
 * peak RSS growth over the baseline, and time; `--js-set` also measures a JS Set of hex strings
 * (the obvious alternative) for comparison.
 *
 *   node dist/bench/prune-plan.js [--chunks 1000000] [--js-set] [--write]
 */
import { ChunkIdSet } from '../src/retention/chunk-set.js';
import { type IndexedShard, planPrune } from '../src/retention/prune-plan.js';
import { collectGarbage, intFlag, machineLines, markdownTable, megabytes, parseFlags, peakRssBytes, resetPeakRss, writeSection } from './common.js';

const flags = parseFlags(process.argv.slice(2), ['chunks', 'js-set', 'write']);
const chunks = intFlag(flags, 'chunks', 1_000_000);
const CHUNK_BYTES = 1 << 20;

/**
 * Chunk i's ID, 32 uniform bytes (as the project's HMAC IDs) from an integer mix of i, written
 * into `out`: the benchmark makes no garbage of its own while it fills the set, so the figures
 * are the set's. (SHA-256 per ID made 2.25 M short-lived Buffers and added ~60 MiB of peak RSS.)
 */
function chunkId(i: number, out: Uint8Array = new Uint8Array(32)): Uint8Array {
  const view = new DataView(out.buffer, out.byteOffset, 32);
  for (let k = 0; k < 8; k++) {
    let x = Math.imul(i ^ (k * 0x9e3779b9), 0x85ebca6b) >>> 0;
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
    x = Math.imul(x ^ (x >>> 16) ^ i, 0x27d4eb2f) >>> 0;
    view.setUint32(k * 4, (x ^ (x >>> 15)) >>> 0);
  }
  return out;
}

/** Needed chunks are 0..chunks-1; the index also holds chunks..1.25·chunks-1 (unused), interleaved. */
async function* indexShards(total: number): AsyncGenerator<IndexedShard> {
  for (let first = 0; first < total; first += 16) {
    const list: { id: Uint8Array; length: number }[] = [];
    for (let j = first; j < Math.min(first + 16, total); j++) {
      // every fifth chunk of the index is an unused one
      const i = j % 5 === 4 ? chunks + Math.floor(j / 5) : j - Math.floor(j / 5);
      list.push({ id: chunkId(i), length: CHUNK_BYTES });
    }
    yield { hash: chunkId(0x7fffffff - first), size: list.length * CHUNK_BYTES, chunks: list };
  }
}

collectGarbage();
const base = process.memoryUsage();
resetPeakRss(process.pid);
const baseRss = base.rss;
const t0 = performance.now();
const set = new ChunkIdSet(32, chunks);
const scratch = new Uint8Array(32);
for (let i = 0; i < chunks; i++) set.add(chunkId(i, scratch));
const tSet = performance.now();
collectGarbage();
const afterSet = process.memoryUsage();
const peakSet = peakRssBytes(process.pid);
const plan = await planPrune({ shards: () => indexShards(Math.floor(chunks * 1.25)) }, set, { maxUnusedPercent: 5 });
const tPlan = performance.now();
collectGarbage();
const after = process.memoryUsage();
const peak = peakRssBytes(process.pid);
const held = (m: NodeJS.MemoryUsage) => megabytes(m.heapUsed + m.arrayBuffers - base.heapUsed - base.arrayBuffers);
const rows: (string | number)[][] = [
  ['ChunkIdSet, built', chunks.toLocaleString('en'), megabytes(set.bytes), held(afterSet), megabytes(peakSet - baseRss), `${((tSet - t0) / 1000).toFixed(1)} s`],
  [`+ planPrune over ${Math.floor(chunks * 1.25).toLocaleString('en')} indexed chunks (${plan.totals.shards.toLocaleString('en')} shards)`, '', '', held(after), megabytes(peak - baseRss), `${((tPlan - tSet) / 1000).toFixed(1)} s`],
];
console.log(`plan: ${plan.totals.shards} shards, ${plan.drop.length} dropped, ${plan.repack.length} repacked, missing ${plan.missingChunks}`);

if (flags.has('js-set')) {
  collectGarbage();
  const b = process.memoryUsage();
  resetPeakRss(process.pid);
  const t = performance.now();
  const js = new Set<string>();
  for (let i = 0; i < chunks; i++) js.add(Buffer.from(chunkId(i, scratch)).toString('hex'));
  const tj = performance.now();
  collectGarbage();
  const a = process.memoryUsage();
  rows.push(['Set<string> (hex), for comparison', js.size.toLocaleString('en'), '-', megabytes(a.heapUsed - b.heapUsed), megabytes(peakRssBytes(process.pid) - b.rss), `${((tj - t) / 1000).toFixed(1)} s`]);
}

const table = markdownTable(['step', 'needed chunks', 'table bytes', 'heap + buffers held', 'peak RSS growth', 'time'], rows);
console.log(table);
if (flags.has('write')) {
  writeSection('prune-plan: memory of the needed-chunk set', [
    '## prune-plan: memory of the needed-chunk set', '', ...machineLines(), '',
    'Prune plans from the index alone; what it holds is the set of chunks the kept snapshots need',
    '(src/retention/chunk-set.ts: IDs side by side in one typed array, open addressing) and one',
    'small record per shard to repack. The index is read one shard at a time. Goal: a million',
    'chunks well under 200 MiB (restic #1723, #3844). Peak RSS growth is over the process after start-up;',
    'run with node --max-semi-space-size=1, the flag peer processes run with (src/cli/node-flags.ts).',
    'The synthetic index is the worst case for the per-shard records: every shard holds unused chunks.',
    '', table, '',
  ].join('\n'));
}
