/**
 * Worker thread of `sealer.ts`: seals chunks (compress, then AES-256-GCM) in place in shared
 * slots. Started with the backup keys as workerData. Request {slot, buffer: SharedArrayBuffer,
 * length, id}: the plaintext is buffer[0, length); the sealed chunk replaces it from offset 0.
 * Answer {slot, length} or {slot, error}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type BackupKeys, sealParts } from './crypto.js';

interface Job {
  slot: number;
  buffer: SharedArrayBuffer;
  length: number;
  id: Uint8Array;
}

const keys = workerData as BackupKeys;

parentPort!.on('message', (job: Job) => {
  try {
    const slot = Buffer.from(job.buffer);
    // Every part is a new buffer (the cipher's output), so overwriting the plaintext is safe
    // once they all exist.
    const parts = sealParts(keys, job.id, slot.subarray(0, job.length));
    let length = 0;
    for (const part of parts) length += part.copy(slot, length);
    parentPort!.postMessage({ slot: job.slot, length });
  } catch (err) {
    parentPort!.postMessage({ slot: job.slot, error: err instanceof Error ? err.message : String(err) });
  }
});
