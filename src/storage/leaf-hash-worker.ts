/**
 * Worker thread of `parallel-hasher.ts`: hashes the Merkle leaves of a range of a shared
 * buffer. Request {id, buffer: SharedArrayBuffer, length}; the range starts on a leaf
 * boundary. Answer {id, hashes: 32 bytes per leaf} or {id, error}.
 */
import { parentPort } from 'node:worker_threads';
import { hashLeaf, LEAF_SIZE } from './merkle.js';

interface Job {
  id: number;
  buffer: SharedArrayBuffer;
  length: number;
}

parentPort!.on('message', (job: Job) => {
  try {
    const data = new Uint8Array(job.buffer, 0, job.length);
    const hashes = new Uint8Array(Math.ceil(job.length / LEAF_SIZE) * 32);
    for (let off = 0, k = 0; off < job.length; off += LEAF_SIZE, k += 32) hashes.set(hashLeaf(data.subarray(off, Math.min(job.length, off + LEAF_SIZE))), k);
    parentPort!.postMessage({ id: job.id, hashes }, [hashes.buffer]);
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) });
  }
});
