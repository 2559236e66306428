/**
 * Reed-Solomon libraries side by side, in the same run, on one core: what chose
 * @ronomon/reed-solomon for src/erasure (see docs/benchmarks.md).
 *
 *   npm install --no-save @digitaldefiance/reed-solomon-erasure.wasm   # the other candidate
 *   node dist/bench/erasure-candidates.js [--seconds 1] [--write]
 *
 * Each candidate encodes the parity of one stripe (K fragments of 256 KiB, the format's stripe
 * size) over and over for `--seconds` per scheme, one call at a time (so one core: the addon's
 * call runs on one threadpool thread, the WebAssembly one on this thread). Throughput counts
 * the data bytes in (K × 256 KiB per call). A candidate that is not installed is skipped.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { codeStripe, range, Stripe } from '../src/erasure/codec.js';
import { STRIPE_FRAGMENT_BYTES } from '../src/erasure/constants.js';
import { intFlag, machineLines, markdownTable, parseFlags, writeSection } from './common.js';

const SCHEMES = [
  { k: 2, n: 4 },
  { k: 3, n: 6 },
  { k: 4, n: 6 },
];
const F = STRIPE_FRAGMENT_BYTES;

interface WasmCodec {
  encode(shards: Uint8Array, dataShards: number, parityShards: number): number;
}

async function timeIt(seconds: number, bytesPerCall: number, call: () => unknown): Promise<number> {
  for (let i = 0; i < 5; i++) await call();
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await call();
    calls++;
  }
  return (calls * bytesPerCall) / ((performance.now() - start) / 1000);
}

async function loadWasm(): Promise<WasmCodec | null> {
  try {
    const require = createRequire(import.meta.url);
    const mod = require('@digitaldefiance/reed-solomon-erasure.wasm') as { ReedSolomonErasure: { fromCurrentDirectorySync(): WasmCodec } };
    return mod.ReedSolomonErasure.fromCurrentDirectorySync();
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['seconds', 'write']);
  const seconds = intFlag(flags, 'seconds', 1);
  const wasm = await loadWasm();
  const rows: (string | number)[][] = [];
  for (const scheme of SCHEMES) {
    const { k, n } = scheme;
    const stripe = new Stripe(scheme, F);
    stripe.data.fill(7);
    const native = await timeIt(seconds, k * F, () => codeStripe(stripe, F, range(0, k), range(k, n)));
    let other = '(not installed)';
    if (wasm) {
      const shards = new Uint8Array(n * F).fill(7);
      other = `${(
        (await timeIt(seconds, k * F, () => {
          if (wasm.encode(shards, k, n - k) !== 0) throw new Error('wasm encode failed');
        })) / 1e9
      ).toFixed(2)} GB/s`;
    }
    rows.push([`${k}/${n}`, `${(native / 1e9).toFixed(2)} GB/s`, other]);
  }
  const section = [
    '## erasure-candidates: Reed-Solomon libraries on this machine',
    '',
    ...machineLines(),
    '',
    'Parity of one stripe (K fragments of 256 KiB) encoded over and over for ' + seconds + ' s per scheme, one call at a time (one core), wall clock, GB/s of data bytes, same run. The WebAssembly candidate is installed only for this comparison (`npm install --no-save @digitaldefiance/reed-solomon-erasure.wasm`). An earlier run on this machine put a pure-JS candidate at 5-21 MB/s. Chosen: the C addon (see src/erasure/codec.ts and the commit that added it).',
    '',
    markdownTable(['scheme', '@ronomon/reed-solomon 6 (C addon)', '@digitaldefiance/reed-solomon-erasure.wasm 1.0.2'], rows),
  ].join('\n');
  console.log(section);
  if (flags.has('write')) writeSection('erasure-candidates', section);
}

await main();
