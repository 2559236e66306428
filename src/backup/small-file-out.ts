/**
 * A small restored file written with synchronous calls: open, write, mode, times, close. Through
 * the thread pool each of those cost ~10x the CPU of the call itself, and a restore of many small
 * files is mostly those calls (docs/benchmarks.md, backup). The event loop waits for each: the
 * writes go to the page cache (the batch is synced later with one syncfs, durable-renames.ts).
 * Same surface as DirectAppender, so FileRestorer takes either.
 */
import { closeSync, fchmodSync, fsyncSync, futimesSync, openSync, writeSync } from 'node:fs';

export class SmallFileOut {
  private position = 0;
  private fd: number | null;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /** Creates `file` (it must not exist), readable by its owner only until `finish` sets its mode. */
  static async create(file: string): Promise<SmallFileOut> {
    return new SmallFileOut(openSync(file, 'wx', 0o600));
  }

  get size(): number {
    return this.position;
  }

  async append(data: Uint8Array): Promise<void> {
    for (let off = 0; off < data.length; ) off += writeSync(this.fd!, data, off, data.length - off, this.position + off);
    this.position += data.length;
  }

  /** Gives the file its mode and times, makes it durable unless `sync` is false, and closes it. */
  async finish(options: { sync?: boolean; mode: number; mtimeMs: number }): Promise<void> {
    const fd = this.fd!;
    fchmodSync(fd, options.mode);
    futimesSync(fd, options.mtimeMs / 1000, options.mtimeMs / 1000);
    if (options.sync !== false) fsyncSync(fd);
    await this.close();
  }

  /** Closes without syncing (the caller removes the file). */
  async close(): Promise<void> {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }
}
