/**
 * Hashes a shard as it streams by with the leaf hashing on a worker thread, so the main thread
 * only copies bytes and the socket keeps flowing while the previous megabytes are hashed.
 *
 * Bytes are copied into a few shared slots (whole leaves each). A full slot goes to the worker
 * and, if a `sink` is given, to the sink at its offset in the shard (the shard store writes
 * it to the file: one large write instead of one per socket chunk). A slot is reused once both
 * are done; when every slot is busy, `write` waits, which is the backpressure. Memory: slots x
 * slotBytes. The digest equals `ShardHasher`'s.
 */
import { Worker } from 'node:worker_threads';
import { newAlignedShared } from '../util/direct-io.js';
import { digestFromLeaves, HASH_BYTES, LEAF_SIZE, type ShardDigest } from './merkle.js';

/**
 * Receives each full slot (and the last partial one) with its offset in the shard; must not
 * keep `data` past its promise. `data` starts on a page boundary (slots are aligned buffers,
 * see util/direct-io.ts), so a sink may write it with direct I/O.
 */
export type SlotSink = (data: Buffer, position: number) => Promise<void>;

export interface ParallelHasherOptions {
  /** Bytes per slot, a multiple of the leaf size (default 1 MiB). */
  slotBytes: number;
  /** Slots in flight (default 4). */
  slots: number;
  sink?: SlotSink;
}

interface Slot {
  shared: SharedArrayBuffer;
  view: Buffer;
  /** Settles (never rejects) once the slot's hashing and sink are done. */
  done: Promise<void> | null;
}

/**
 * Slots of finished hashers, for the next one: a shared buffer is freed only once both this
 * thread and the worker have collected it, so making new ones per shard piles them up.
 */
const spareSlots: SharedArrayBuffer[] = [];
const MAX_SPARE_SLOTS = 8;

function takeSlot(bytes: number): SharedArrayBuffer {
  const i = spareSlots.findIndex((s) => s.byteLength >= bytes && s.byteLength < 2 * bytes);
  return i >= 0 ? spareSlots.splice(i, 1)[0]! : newAlignedShared(bytes);
}

export class ParallelShardHasher {
  /** Bytes taken in so far. */
  size = 0;
  private readonly slots: Slot[] = [];
  private readonly slotBytes: number;
  private readonly slotCount: number;
  /** Set by settle: no slot may be filled or dispatched again. */
  private closing = false;
  private released = false;
  private readonly sink: SlotSink | undefined;
  private next = 0;
  private current: Slot | null = null;
  private fill = 0;
  private position = 0;
  /** Leaf hashes of each dispatched slot, in shard order. */
  private readonly parts: Uint8Array[] = [];
  private failure: { error: unknown } | null = null;

  constructor(options: Partial<ParallelHasherOptions> = {}) {
    const slotBytes = options.slotBytes ?? 1024 * 1024;
    if (slotBytes <= 0 || slotBytes % LEAF_SIZE !== 0) throw new Error('slotBytes must be a positive multiple of the leaf size');
    this.slotBytes = slotBytes;
    this.slotCount = Math.max(1, options.slots ?? 4);
    this.sink = options.sink;
  }

  /**
   * Takes `chunk` in (copied: the caller may reuse it once this resolves). One call at a time:
   * await it before the next. Rejects if hashing or the sink failed, or after `settle`.
   */
  async write(chunk: Uint8Array): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      const slot = this.current ?? (await this.acquire());
      const n = Math.min(slot.view.length - this.fill, chunk.length - off);
      slot.view.set(chunk.subarray(off, off + n), this.fill);
      this.fill += n;
      this.size += n;
      off += n;
      if (this.fill === slot.view.length) this.dispatch();
    }
  }

  /** Hashes (and sinks) what is left and returns the digest. Call once, at the end. */
  async digest(): Promise<ShardDigest> {
    if (this.closing) throw new Error('the hasher has finished');
    if (this.current && this.fill > 0) this.dispatch();
    await this.settle();
    if (this.failure) throw this.failure.error;
    const leaves: Uint8Array[] = [];
    for (const part of this.parts) for (let off = 0; off < part.length; off += HASH_BYTES) leaves.push(part.subarray(off, off + HASH_BYTES));
    return digestFromLeaves(leaves, this.size);
  }

  /**
   * Waits for every slot in flight, whatever its outcome (before closing the sink's file, say),
   * and gives the slots back: the hasher takes no more bytes after this.
   */
  async settle(): Promise<void> {
    this.closing = true;
    // A write that was waiting for a slot fails once it resumes (see acquire); wait until no
    // slot is in flight, then the slots are ours to give back.
    let waited: (Promise<void> | null)[];
    do {
      waited = this.slots.map((s) => s.done);
      await Promise.all(waited);
    } while (this.slots.some((s, i) => s.done !== waited[i]));
    if (this.released) return;
    this.released = true;
    this.current = null;
    for (const s of this.slots) if (spareSlots.length < MAX_SPARE_SLOTS) spareSlots.push(s.shared);
    this.slots.length = 0;
  }

  private async acquire(): Promise<Slot> {
    if (this.closing) throw new Error('the hasher has finished');
    if (this.slots.length < this.slotCount) {
      const shared = takeSlot(this.slotBytes);
      this.slots.push({ shared, view: Buffer.from(shared, 0, this.slotBytes), done: null });
    }
    const slot = this.slots[this.next]!;
    this.next = (this.next + 1) % this.slotCount;
    if (slot.done) await slot.done;
    if (this.failure) throw this.failure.error;
    // Settled while we waited: the slot may soon serve another hasher.
    if (this.closing) throw new Error('the hasher has finished');
    this.current = slot;
    this.fill = 0;
    return slot;
  }

  private dispatch(): void {
    const slot = this.current!;
    const length = this.fill;
    const position = this.position;
    const index = this.parts.length;
    this.parts.push(new Uint8Array(0));
    this.position += length;
    this.current = null;
    this.fill = 0;
    slot.done = Promise.all([
      leafHashPool.hash(slot.shared, length).then((hashes) => {
        this.parts[index] = hashes;
      }),
      this.sink?.(slot.view.subarray(0, length), position),
    ]).then(
      () => {},
      (error: unknown) => {
        this.failure ??= { error };
      },
    );
  }
}

/**
 * One worker per process, started on first use. It is unref'd while idle, so it never keeps
 * the process alive, and stopped (spare slots dropped too) after IDLE_MS without work, so an
 * idle process does not carry its 16-19 MiB (a restart costs 30-60 ms of CPU, hence not
 * sooner); a crashed worker fails its jobs and the next job starts a fresh one.
 */
class LeafHashPool {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly waiting = new Map<number, { worker: Worker; resolve: (h: Uint8Array) => void; reject: (e: Error) => void }>();
  private idleTimer: NodeJS.Timeout | null = null;

  hash(buffer: SharedArrayBuffer, length: number): Promise<Uint8Array> {
    const worker = this.start();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const id = this.nextId++;
    worker.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { worker, resolve, reject });
      worker.postMessage({ id, buffer, length });
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    // It only hashes shared buffers: a small young generation keeps its RSS small too.
    const worker = new Worker(new URL('./leaf-hash-worker.js', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 64 } });
    worker.unref();
    worker.on('message', (m: { id: number; hashes?: Uint8Array; error?: string }) => {
      const job = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (![...this.waiting.values()].some((j) => j.worker === worker)) {
        worker.unref();
        this.idleTimer ??= setTimeout(() => this.stopIdle(worker), IDLE_MS).unref();
      }
      if (m.hashes) job?.resolve(m.hashes);
      else job?.reject(new Error(`leaf hashing failed: ${m.error}`));
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const [id, job] of this.waiting) {
        if (job.worker !== worker) continue;
        this.waiting.delete(id);
        job.reject(err);
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`leaf hashing worker exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  /** Stops the worker now if it has nothing to do (a caller that knows a burst of work is over). */
  release(): void {
    if (this.worker) this.stopIdle(this.worker);
  }

  private stopIdle(worker: Worker): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (this.worker !== worker || [...this.waiting.values()].some((j) => j.worker === worker)) return;
    this.worker = null;
    spareSlots.length = 0;
    void worker.terminate();
  }
}

const IDLE_MS = 1000;
const leafHashPool = new LeafHashPool();

/**
 * Stops the hash worker and drops the spare slots if no hashing is under way, instead of
 * after the idle delay: for the end of a backup or restore, so the memory goes back at once.
 * The next hasher starts a fresh worker.
 */
export function releaseHashWorker(): void {
  leafHashPool.release();
}
