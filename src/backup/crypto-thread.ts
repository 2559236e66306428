/**
 * Worker thread of `crypto-worker.ts`: seals and opens chunks in place in shared slots.
 * Started with the backup keys and the slots (SharedArrayBuffers, by index) as workerData.
 *
 * - {op: 'seal', slot, start: SEAL_HEAD, length, id}: the plaintext is the slot's [start,
 *   start + length); the sealed chunk replaces it from offset 0. Answer {slot, start: 0, length}.
 * - {op: 'open', slot, start, length, id}: the sealed chunk is the slot's [start, start +
 *   length); it is checked and its plaintext left in the slot, at the answer's start, or, if
 *   the slot is too small for it, sent back as a copy. Answer {slot, start, length} or
 *   {slot, start: 0, length, copy}.
 *
 * On any failure (a chunk that does not open): {slot, error}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { collectGarbage } from '../util/scavenge.js';
import { type BackupKeys, openInto, SEAL_HEAD, sealInPlace } from './crypto.js';

export interface CryptoSetup {
  keys: BackupKeys;
  /** The slots, indexed as jobs name them. */
  slots: SharedArrayBuffer[];
}

export interface CryptoJob {
  op: 'seal' | 'open';
  slot: number;
  start: number;
  length: number;
  id: Uint8Array;
}

export interface CryptoAnswer {
  slot: number;
  start?: number;
  length?: number;
  copy?: Uint8Array;
  error?: string;
}

const setup = workerData as CryptoSetup;
const keys = setup.keys;
const slots = setup.slots.map((shared) => Buffer.from(shared));

// The cipher and the decompressor return new buffers (small ones: crypto.ts works in 64 KiB
// pieces), all garbage at once, which this thread's malloc arena would otherwise keep (gdb on a
// restore: a 36 MiB arena of 64 KiB cipher outputs; util/scavenge.ts). They die young, so a
// scavenge of this thread's 2 MiB young generation every MINOR_GC_EVERY bytes frees them; a full
// collection every FULL_GC_EVERY catches what was promoted.
const MINOR_GC_EVERY = 4 * 1024 * 1024;
const FULL_GC_EVERY = 64 * 1024 * 1024;
let sinceMinor = 0;
let sinceFull = 0;

function run(job: CryptoJob): CryptoAnswer {
  const slot = slots[job.slot]!;
  if (job.op === 'seal') {
    if (job.start !== SEAL_HEAD) throw new Error('plaintext to seal must start at SEAL_HEAD');
    return { slot: job.slot, start: 0, length: sealInPlace(keys, job.id, slot, job.length) };
  }
  // The ID check (an HMAC over the plaintext) is left to the main thread: see crypto-worker.ts.
  const plain = openInto(keys, job.id, slot.subarray(job.start, job.start + job.length), slot, { checkId: false });
  if (plain.buffer === slot.buffer) return { slot: job.slot, start: plain.byteOffset - slot.byteOffset, length: plain.length };
  // Decompressed into new memory: into the slot if it fits, else a copy of its own (a Buffer
  // may be a view of a larger one, and cloning sends all of it).
  if (plain.length > slot.length) return { slot: job.slot, start: 0, length: plain.length, copy: new Uint8Array(plain) };
  plain.copy(slot, 0);
  return { slot: job.slot, start: 0, length: plain.length };
}

parentPort!.on('message', (job: CryptoJob) => {
  let answer: CryptoAnswer;
  try {
    answer = run(job);
  } catch (err) {
    answer = { slot: job.slot, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(answer);
  // Garbage per job: the cipher's pieces (the sealed length) and, when opening, up to twice the
  // plaintext (a compressed chunk's decompressor pieces and their joined copy; counted for
  // every opened chunk, which only makes the scavenges a little more frequent).
  const garbage = job.length + (job.op === 'open' ? 2 : 1) * (answer.length ?? 0);
  sinceMinor += garbage;
  sinceFull += garbage;
  if (sinceFull >= FULL_GC_EVERY) {
    sinceFull = sinceMinor = 0;
    collectGarbage('major');
  } else if (sinceMinor >= MINOR_GC_EVERY) {
    sinceMinor = 0;
    collectGarbage('minor');
  }
});
