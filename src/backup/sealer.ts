/**
 * Seals chunks on a worker thread while the main thread reads, chunks and hashes the next ones.
 *
 * Compressing and encrypting are the owner's largest per-byte costs in a backup after chunking;
 * on the main thread they ran one after the other with everything else, and the owner's main
 * thread was the backup's bottleneck (docs/benchmarks.md). Plaintext is copied into one of a
 * few shared slots (each large enough for the largest chunk sealed), sealed there in place,
 * and handed back in order. Memory: slots x (max chunk + overhead). One worker per sealer: the
 * hosts and the owner's other threads share the machine's remaining cores.
 */
import { Worker } from 'node:worker_threads';
import { type BackupKeys, SEAL_OVERHEAD } from './crypto.js';

/** A sealed chunk in its slot: `bytes` is valid until `release()`. */
export interface SealedChunk {
  id: Uint8Array;
  bytes: Buffer;
  release(): void;
}

interface Slot {
  index: number;
  shared: SharedArrayBuffer;
  busy: boolean;
  job: { id: Uint8Array; resolve: (c: SealedChunk) => void; reject: (e: Error) => void } | null;
}

export class ChunkSealer {
  private readonly slots: Slot[];
  private readonly worker: Worker;
  private readonly freed: (() => void)[] = [];
  private failure: Error | null = null;
  private closed = false;

  /** `maxChunk`: the largest plaintext chunk that will be sealed. */
  constructor(keys: BackupKeys, maxChunk: number, slots = 3) {
    this.slots = Array.from({ length: Math.max(1, slots) }, (_, index) => ({ index, shared: new SharedArrayBuffer(maxChunk + SEAL_OVERHEAD), busy: false, job: null }));
    this.worker = new Worker(new URL('./seal-worker.js', import.meta.url), {
      workerData: keys,
      // It keeps little but Brotli's and the cipher's short-lived buffers.
      resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 64 },
    });
    this.worker.on('message', (m: { slot: number; length?: number; error?: string }) => {
      const slot = this.slots[m.slot]!;
      const job = slot.job!;
      slot.job = null;
      if (m.error !== undefined) {
        this.release(slot);
        job.reject(new Error(`sealing failed: ${m.error}`));
        return;
      }
      job.resolve({ id: job.id, bytes: Buffer.from(slot.shared, 0, m.length!), release: () => this.release(slot) });
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      for (const slot of this.slots) {
        const job = slot.job;
        slot.job = null;
        job?.reject(err);
      }
      for (const wake of this.freed.splice(0)) wake();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`sealing worker exited (${code})`)));
  }

  /**
   * Copies `plain` into a free slot (waiting for one if all are taken) and starts sealing it.
   * Resolves once the copy is made (the caller may reuse `plain`), to an object holding the
   * sealed chunk's promise (wrapped: a promise resolved with a promise would wait for it).
   * Sealed chunks must be released, or the slots run out.
   */
  async submit(id: Uint8Array, plain: Uint8Array): Promise<{ sealed: Promise<SealedChunk> }> {
    let slot: Slot | undefined;
    while (!(slot = this.slots.find((s) => !s.busy))) {
      this.check();
      await new Promise<void>((resolve) => this.freed.push(resolve));
    }
    this.check();
    if (plain.length + SEAL_OVERHEAD > slot.shared.byteLength) throw new Error(`chunk of ${plain.length} bytes is larger than the sealer's slots`);
    slot.busy = true;
    new Uint8Array(slot.shared).set(plain);
    const taken = slot;
    const result = new Promise<SealedChunk>((resolve, reject) => {
      taken.job = { id, resolve, reject };
    });
    // Marked handled: a caller holding several results awaits them in order, and one that
    // fails while it waits on another is not an unhandled rejection.
    result.catch(() => {});
    this.worker.postMessage({ slot: slot.index, buffer: slot.shared, length: plain.length, id });
    return { sealed: result };
  }

  /** Stops the worker; chunks not yet handed back fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failure ??= new Error('the sealer was closed');
    await this.worker.terminate();
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }

  private release(slot: Slot): void {
    slot.busy = false;
    this.freed.shift()?.();
  }
}
