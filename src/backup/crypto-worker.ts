/**
 * Seals (backup) and opens (restore) chunks on a worker thread, while the main thread reads,
 * chunks, hashes and writes the next ones.
 *
 * Compressing and encrypting, and on restore decrypting, decompressing and checking, are the
 * owner's largest per-byte costs after chunking; on the main thread they ran one after the
 * other with everything else, and the owner's main thread was the bottleneck of both
 * (docs/benchmarks.md). Bytes go through a few shared slots: the caller fills a slot (copies a
 * plaintext chunk in, or reads a sealed one from its shard file straight into it), the worker
 * replaces its contents with the result, and the caller uses it and releases the slot.
 * Memory: the slots (slots x slotBytes, and the small pool's if any), plus the worker's own (a few MiB).
 *
 * Deadlock rule for callers that hold several results: a caller must not wait for a slot while
 * it holds unreleased results that only it would release (`hasFreeSlot()` tells whether it
 * would wait); one caller that keeps fewer results than there are slots is safe, and so are
 * the restore's files (engine.ts restoreFile: each holds only chunks its writer is taking).
 */
import { Worker } from 'node:worker_threads';
import { newAlignedShared } from '../util/direct-io.js';
import { type BackupKeys, checkChunkId, openInto, SEAL_HEAD, SEAL_OVERHEAD, sealInPlace } from './crypto.js';
import { INLINE_CRYPTO_BYTES } from './constants.js';
import type { CryptoAnswer, CryptoJob, CryptoSetup } from './crypto-thread.js';

/** A sealed or opened chunk: `bytes` is valid until `release()`. */
export interface ChunkResult {
  id: Uint8Array;
  bytes: Buffer;
  release(): void;
}

interface Slot {
  index: number;
  /** 0: the main slots; 1: the small ones (see the constructor). */
  pool: number;
  shared: SharedArrayBuffer;
  view: Buffer;
  busy: boolean;
  job: { op: CryptoJob['op']; id: Uint8Array; resolve: (c: ChunkResult) => void; reject: (e: Error) => void } | null;
}

export class CryptoWorker {
  private readonly slots: Slot[];
  private readonly worker: Worker;
  private readonly freed: (() => void)[] = [];
  private failure: Error | null = null;
  private closed = false;
  /** The pool `open(..., { small: true })` takes from: 1 if there is a small pool, else 0. */
  private readonly smallPool: number;

  /**
   * `slotBytes`: room for the largest chunk to be sealed plus SEAL_OVERHEAD, or the largest
   * sealed chunk's aligned read window (windowBound) to be opened (a plaintext that does not
   * fit comes back as a copy). Slots are page-aligned, so a sealed chunk can be read into one
   * with direct I/O. `small`: a second pool of smaller slots for callers that ask for it
   * (`open(..., { small: true })`): a restore's small files, so they do not queue behind a large
   * file's 4 MiB chunks for the few large slots, at a fraction of their memory.
   */
  constructor(
    private readonly keys: BackupKeys,
    slotBytes: number,
    slots = 3,
    small: { slotBytes: number; slots: number } | null = null,
    /** Chunks up to this many bytes are sealed and opened on the calling thread (see INLINE_CRYPTO_BYTES). */
    private readonly inlineBytes = INLINE_CRYPTO_BYTES,
  ) {
    const pools = [{ bytes: slotBytes, count: Math.max(1, slots) }, ...(small && small.slots > 0 ? [{ bytes: small.slotBytes, count: small.slots }] : [])];
    this.slots = pools.flatMap(({ bytes, count }, pool) =>
      Array.from({ length: count }, () => {
        // The view is the whole (page-rounded) buffer, as the worker sees it: a plaintext the
        // worker fits into the slot must be all there on this side too.
        const shared = newAlignedShared(bytes);
        return { index: 0, pool, shared, view: Buffer.from(shared), busy: false, job: null };
      }),
    );
    this.slots.forEach((slot, index) => (slot.index = index));
    this.smallPool = pools.length - 1;
    // The slots go over once, with the keys: a job names its slot by index. A SharedArrayBuffer
    // in every job message cost more than the message's other fields together (postMessage was
    // the main thread's largest item backing up small files).
    const setup: CryptoSetup = { keys, slots: this.slots.map((s) => s.shared) };
    this.worker = new Worker(new URL('./crypto-thread.js', import.meta.url), {
      workerData: setup,
      // It keeps nothing but short-lived buffers: a small young generation keeps its RSS small.
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 64 },
    });
    this.worker.on('message', (m: CryptoAnswer) => {
      const slot = this.slots[m.slot]!;
      const job = slot.job!;
      slot.job = null;
      if (m.error !== undefined) {
        this.release(slot);
        job.reject(new Error(m.error));
        return;
      }
      const bytes = m.copy ? Buffer.from(m.copy.buffer, m.copy.byteOffset, m.copy.length) : slot.view.subarray(m.start!, m.start! + m.length!);
      if (job.op === 'open') {
        // The worker decrypted and decompressed; the ID check runs here. Opening a restore's
        // chunks kept the worker ~75% busy and the main thread ~40%: moving the HMAC over
        // balances the two (docs/benchmarks.md, backup).
        try {
          checkChunkId(keys, job.id, bytes);
        } catch (err) {
          this.release(slot);
          job.reject(err as Error);
          return;
        }
      }
      job.resolve({ id: job.id, bytes, release: () => this.release(slot) });
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
    this.worker.on('exit', (code) => fail(new Error(`chunk crypto worker exited (${code})`)));
  }

  /** Bytes per slot (the main pool's). */
  get slotBytes(): number {
    return this.slots[0]!.view.length;
  }

  /** True if a call made now gets a slot of the main pool without waiting. */
  hasFreeSlot(): boolean {
    return this.slots.some((s) => s.pool === 0 && !s.busy);
  }

  /**
   * Copies `plain` into a free slot (waiting for one if all are taken) and starts sealing it.
   * Resolves once the copy is made (the caller may reuse `plain`), to an object holding the
   * sealed chunk's promise (wrapped: a promise resolved with a promise would wait for it).
   */
  async seal(id: Uint8Array, plain: Uint8Array): Promise<{ result: Promise<ChunkResult> }> {
    const slot = await this.acquire();
    if (plain.length + SEAL_OVERHEAD > slot.view.length) {
      this.release(slot);
      throw new Error(`a chunk of ${plain.length} bytes is larger than the crypto worker's slots`);
    }
    // Where the sealed body will be: the worker seals it in place (crypto.ts sealInPlace).
    slot.view.set(plain, SEAL_HEAD);
    if (plain.length <= this.inlineBytes) return { result: this.inline(slot, id, () => slot.view.subarray(0, sealInPlace(this.keys, id, slot.view, plain.length))) };
    return { result: this.start(slot, 'seal', id, SEAL_HEAD, plain.length) };
  }

  /**
   * Takes a free slot, lets `fill` read the sealed chunk into it (fill returns the view of the
   * slot where the chunk lies), and starts opening it. Resolves to the plaintext's promise;
   * that rejects if the chunk fails authentication or does not match `id`. `small`: a slot of
   * the small pool (the main pool's if there is none).
   */
  async open(id: Uint8Array, fill: (slot: Buffer) => Promise<Buffer>, options: { small?: boolean } = {}): Promise<{ result: Promise<ChunkResult> }> {
    const slot = await this.acquire(options.small ? this.smallPool : 0);
    let sealed: Buffer;
    try {
      sealed = await fill(slot.view);
    } catch (err) {
      this.release(slot);
      throw err;
    }
    if (sealed.length <= this.inlineBytes) return { result: this.inline(slot, id, () => openInto(this.keys, id, sealed, slot.view)) };
    return { result: this.start(slot, 'open', id, sealed.byteOffset - slot.view.byteOffset, sealed.length) };
  }

  /**
   * A small chunk's work done here, in the slot, with the same result as the worker's: a message
   * each way cost more of the main thread than sealing or opening a chunk of a few KiB does
   * (postMessage was the largest item of a backup and a restore of small files).
   */
  private inline(slot: Slot, id: Uint8Array, work: () => Buffer): Promise<ChunkResult> {
    if (this.failure) {
      this.release(slot);
      return Promise.reject(this.failure);
    }
    try {
      const bytes = work();
      return Promise.resolve({ id, bytes, release: () => this.release(slot) });
    } catch (err) {
      this.release(slot);
      const failed = Promise.reject(err as Error);
      failed.catch(() => {});
      return failed;
    }
  }

  /** Stops the worker; chunks not yet handed back fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failure ??= new Error('the chunk crypto worker was closed');
    await this.worker.terminate();
  }

  private async acquire(pool = 0): Promise<Slot> {
    for (;;) {
      if (this.failure) throw this.failure;
      const slot = this.slots.find((s) => s.pool === pool && !s.busy);
      if (slot) {
        slot.busy = true;
        return slot;
      }
      await new Promise<void>((resolve) => this.freed.push(resolve));
    }
  }

  private start(slot: Slot, op: CryptoJob['op'], id: Uint8Array, start: number, length: number): Promise<ChunkResult> {
    if (this.failure) {
      this.release(slot);
      return Promise.reject(this.failure);
    }
    const result = new Promise<ChunkResult>((resolve, reject) => {
      slot.job = { op, id, resolve, reject };
    });
    // Marked handled: a caller holding several results awaits them in order, and one that
    // fails while it waits on another is not an unhandled rejection.
    result.catch(() => {});
    // The ID is copied into 32 bytes of its own: an ID decoded from a snapshot is a view of the
    // whole decoded snapshot, and a message clones a view's entire buffer (hundreds of KiB per
    // chunk, allocated on the worker's malloc arena: a restore's largest memory cost).
    const job: CryptoJob = { op, slot: slot.index, start, length, id: new Uint8Array(id) };
    this.worker.postMessage(job);
    return result;
  }

  private release(slot: Slot): void {
    slot.busy = false;
    // Waiters may want either pool: all of them look again.
    for (const wake of this.freed.splice(0)) wake();
  }
}
