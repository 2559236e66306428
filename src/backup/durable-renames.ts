/**
 * Restored files made durable in batches, then renamed into place.
 *
 * A restored file is written under a temporary name; it gets its real name only once its bytes
 * are on the device, so no name ever points at data a crash could lose. Doing that per file
 * (fsync, rename) cost one device flush per file, the largest single cost of restoring many
 * small files on the machine measured (docs/benchmarks.md, backup). Here files wait in a batch
 * (up to `maxFiles` or `maxBytes`); the batch is synced at once (one syncfs) and then renamed.
 * One batch is synced at a time; the caller that fills a batch waits for it, so each caller
 * has at most one batch of files waiting behind it.
 */
import { promises as fs, renameSync } from 'node:fs';

export interface PendingFile {
  /** The temporary file, written and closed. */
  tmp: string;
  /** Its real name. */
  target: string;
  bytes: number;
}

export interface DurableRenamesOptions {
  maxFiles: number;
  maxBytes: number;
  /** Makes these files durable (the restore: syncfs of the destination). */
  sync: (files: PendingFile[]) => Promise<void>;
}

export class DurableRenames {
  private pending: PendingFile[] = [];
  private pendingBytes = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | null = null;
  private discarded = false;

  constructor(private readonly options: DurableRenamesOptions) {}

  /**
   * Takes a written file; when that fills the batch, resolves once the batch is synced and
   * renamed. After a failed batch it throws without taking the file (the caller removes it).
   */
  async add(file: PendingFile): Promise<void> {
    if (this.failure) throw this.failure.error;
    if (this.discarded) throw new Error('restored files are no longer taken (the restore stopped)');
    this.pending.push(file);
    this.pendingBytes += file.bytes;
    if (this.pending.length >= this.options.maxFiles || this.pendingBytes >= this.options.maxBytes) await this.flush();
  }

  /** Syncs and renames every file taken so far (after any batch still being synced). */
  flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const run = this.chain.then(async () => {
      if (batch.length === 0) return;
      try {
        // A batch behind a failed one is not synced, and its files go (below).
        if (this.failure) throw this.failure.error;
        await this.options.sync(batch);
        // Synchronous renames: metadata in the kernel's cache (the batch is already durable),
        // microseconds each, where one through the thread pool cost ~10x that in CPU.
        for (const f of batch) renameSync(f.tmp, f.target);
      } catch (error) {
        this.failure ??= { error };
        // What was not renamed is removed: a temporary file is never left as a result. (A
        // rename that went through left no temporary file; rm of it finds nothing.)
        await Promise.allSettled(batch.map((f) => fs.rm(f.tmp, { force: true })));
        throw error;
      }
    });
    // Only the order matters here: the caller hears the failure through `run`, later batches through `failure`.
    this.chain = run.catch(() => {});
    return run;
  }

  /**
   * After a failure elsewhere: takes no more files, waits for the batches being synced, and
   * removes the files not yet in a batch.
   */
  async discard(): Promise<void> {
    this.discarded = true;
    await this.chain;
    const left = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    await Promise.allSettled(left.map((f) => fs.rm(f.tmp, { force: true })));
  }
}
