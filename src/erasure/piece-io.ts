/**
 * File handling for piece-files.ts: outputs written beside their target under a temporary
 * name and renamed into place only once complete and fsynced (a crash leaves the old file or
 * none, never half a piece), and positional reads that never stop short.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fsyncDir } from '../util/atomic-file.js';
import { writeFully } from '../util/write-fully.js';

/** One file being written: `write` at any offset, then `commit` (or `abort`). */
export class TempOutput {
  private constructor(
    readonly target: string,
    private readonly temp: string,
    private readonly handle: fs.FileHandle,
  ) {}

  static async open(target: string, mode = 0o600): Promise<TempOutput> {
    const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
    return new TempOutput(target, temp, await fs.open(temp, 'wx', mode));
  }

  write(data: Uint8Array, position: number): Promise<void> {
    return writeFully(this.handle, data, position);
  }

  /** Empties the file (a decode that starts over with other pieces). */
  truncate(): Promise<void> {
    return this.handle.truncate(0);
  }

  /** Sets the final size (the shard's trailing bytes may be padding never written); fsyncs unless `durable` is false. */
  async finish(size: number, durable = true): Promise<void> {
    await this.handle.truncate(size);
    if (durable) await this.handle.sync();
    await this.handle.close();
  }

  /** Renames the finished file over its target. The caller fsyncs the directory (once for many). */
  async rename(): Promise<void> {
    await fs.rename(this.temp, this.target);
  }

  /** Closes (if open) and removes the temporary file; never throws. */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await fs.rm(this.temp, { force: true }).catch(() => undefined);
  }
}

/**
 * Finishes, renames and makes durable every output; on any failure removes them all.
 * `durable` false skips the fsyncs (still renamed complete): for outputs that are themselves
 * temporary, such as pieces about to be uploaded or a shard about to be read once.
 */
export async function commitAll(outputs: readonly TempOutput[], sizes: readonly number[], durable = true): Promise<void> {
  try {
    await Promise.all(outputs.map((o, i) => o.finish(sizes[i]!, durable)));
    for (const o of outputs) await o.rename();
  } catch (err) {
    await abortAll(outputs);
    throw err;
  }
  if (durable) for (const dir of new Set(outputs.map((o) => path.dirname(o.target)))) await fsyncDir(dir);
}

export async function abortAll(outputs: readonly TempOutput[]): Promise<void> {
  await Promise.all(outputs.map((o) => o.abort()));
}

/**
 * Reads `into.length` bytes at `position`, fewer only at the end of the file; zero-fills what
 * lies past the end. Returns the bytes read.
 */
export async function readAt(handle: fs.FileHandle, into: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  into.fill(0, done);
  return done;
}
