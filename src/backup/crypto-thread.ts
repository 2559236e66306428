/**
 * Worker thread of `crypto-worker.ts`: seals and opens chunks in place in shared slots.
 * Started with the backup keys as workerData.
 *
 * - {op: 'seal', slot, buffer, start: 0, length, id}: the plaintext is buffer[0, length); the
 *   sealed chunk replaces it from offset 0. Answer {slot, length}.
 * - {op: 'open', slot, buffer, start, length, id}: the sealed chunk is buffer[start, start +
 *   length); it is checked and its plaintext written from offset 0, or, if the slot is too
 *   small for it, sent back as a copy. Answer {slot, length} or {slot, length, copy}.
 *
 * On any failure (a chunk that does not open): {slot, error}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type BackupKeys, open, sealParts } from './crypto.js';

export interface CryptoJob {
  op: 'seal' | 'open';
  slot: number;
  buffer: SharedArrayBuffer;
  start: number;
  length: number;
  id: Uint8Array;
}

export interface CryptoAnswer {
  slot: number;
  length?: number;
  copy?: Uint8Array;
  error?: string;
}

const keys = workerData as BackupKeys;

function run(job: CryptoJob): CryptoAnswer {
  const slot = Buffer.from(job.buffer);
  const input = slot.subarray(job.start, job.start + job.length);
  // Every output is a new buffer (the cipher's or the decompressor's), so overwriting the
  // input is safe once it exists.
  if (job.op === 'seal') {
    let length = 0;
    for (const part of sealParts(keys, job.id, input)) length += part.copy(slot, length);
    return { slot: job.slot, length };
  }
  const plain = open(keys, job.id, input);
  // A copy of its own: a Buffer may be a view of a larger one, and cloning sends all of it.
  if (plain.length > slot.length) return { slot: job.slot, length: plain.length, copy: new Uint8Array(plain) };
  plain.copy(slot, 0);
  return { slot: job.slot, length: plain.length };
}

parentPort!.on('message', (job: CryptoJob) => {
  let answer: CryptoAnswer;
  try {
    answer = run(job);
  } catch (err) {
    answer = { slot: job.slot, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(answer);
});
