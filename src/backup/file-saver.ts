/**
 * The tree builder's file stage (SaveFile in src/snapshot/tree-builder.ts): reads a file with
 * one of a few read buffers (waiting for one if all are in use), cuts it into chunks, and stores the new ones through the
 * pack stream. Returns the chunk IDs in order.
 */
// Called through the module object (fsSync.openSync), not a named import: tests replace it to
// make a file unopenable (root reads any file whatever its mode).
import fsSync, { promises as fs } from 'node:fs';
import type { FsStat } from '../snapshot/fs-reader.js';
import type { Chunker } from './chunker.js';
import { type BackupKeys, chunkId } from './crypto.js';
import type { PackStream } from './pack-stream.js';
import { READ_BYTES, SYNC_READ_BYTES } from './constants.js';
import { readFullySync } from '../util/read-fully.js';

export class FileSaver {
  /**
   * One read buffer per file read at once, reused for the whole backup: a fresh 1 MiB buffer
   * per read (what a read stream does) fragments malloc's arenas, and the owner's RSS grew with
   * the size of the file (docs/benchmarks.md, backup).
   */
  private readonly buffers: Buffer[];
  /** Files waiting for a read buffer, first come first served. */
  private readonly waiting: ((buffer: Buffer) => void)[] = [];

  constructor(
    private readonly keys: BackupKeys,
    private readonly chunker: Chunker,
    private readonly pack: Pick<PackStream, 'add'>,
    /** Files read at once (the tree builder's fileConcurrency). */
    slots: number,
    /** Plaintext bytes read, as they are read. */
    private readonly onBytes: (n: number) => void,
  ) {
    this.buffers = Array.from({ length: slots }, () => Buffer.allocUnsafe(READ_BYTES));
  }

  save = async (absPath: string, stat: FsStat): Promise<Uint8Array[]> => {
    // The tree builder's slots are per directory, so a subdirectory's files may start while a
    // file of its parent is still being read: those wait here for a buffer (memory stays at
    // `slots` buffers; the reader holding one never waits on the waiting ones).
    const buffer = this.buffers.pop() ?? (await new Promise<Buffer>((resolve) => this.waiting.push(resolve)));
    try {
      const ids: Uint8Array[] = [];
      for await (const plain of this.chunker.split(stat.size <= SYNC_READ_BYTES ? readSmall(absPath, buffer) : readInto(absPath, buffer, stat.size), { borrow: true })) {
        const id = chunkId(this.keys, plain);
        ids.push(id);
        this.onBytes(plain.length);
        // The pack stream copies the chunk: the read buffer may be reused once it resolves.
        await this.pack.add(id, plain);
      }
      return ids;
    } finally {
      const next = this.waiting.shift();
      if (next) next(buffer);
      else this.buffers.push(buffer);
    }
  };
}

/**
 * A small file (at most SYNC_READ_BYTES when it was lstat'ed) read with synchronous calls, up
 * to the buffer's length: open, read, close through the thread pool cost ~10x the CPU of the
 * calls themselves, and a backup of small files is mostly those calls. A file that grew past
 * the buffer since its lstat is read on through the ordinary path.
 */
async function* readSmall(file: string, buffer: Buffer): AsyncGenerator<Buffer> {
  const fd = fsSync.openSync(file, 'r');
  let got: number;
  try {
    got = readFullySync(fd, buffer, 0, buffer.length, 0);
  } finally {
    fsSync.closeSync(fd);
  }
  if (got < buffer.length) {
    if (got > 0) yield buffer.subarray(0, got);
    return;
  }
  // Grew to fill the buffer: the rest from where it ends, the ordinary way.
  yield buffer;
  yield* readInto(file, buffer, Infinity, got);
}

/**
 * Reads a file into `buffer` again and again, yielding the filled part each time: the caller
 * must be done with it before asking for the next (the chunker copies what it keeps).
 *
 * A read that comes back short once at least `size` bytes (the lstat's) are in is taken as the
 * end of the file, without one more read to see 0: a regular file reads short only at its end,
 * and that extra read was a third of the reads of a backup of small files. Short reads before
 * `size` (some network and FUSE file systems) go on to a read of 0, as before.
 */
async function* readInto(file: string, buffer: Buffer, size: number, from = 0): AsyncGenerator<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, from + total);
      if (bytesRead === 0) return;
      total += bytesRead;
      yield buffer.subarray(0, bytesRead);
      if (bytesRead < buffer.length && total >= size) return;
    }
  } finally {
    await handle.close();
  }
}
