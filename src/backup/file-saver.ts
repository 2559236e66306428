/**
 * The tree builder's file stage (SaveFile in src/snapshot/tree-builder.ts): reads a file with
 * one of a few read buffers (waiting for one if all are in use), cuts it into chunks, and stores the new ones through the
 * pack stream. Returns the chunk IDs in order.
 */
import { promises as fs } from 'node:fs';
import type { FsStat } from '../snapshot/fs-reader.js';
import type { Chunker } from './chunker.js';
import { type BackupKeys, chunkId } from './crypto.js';
import type { PackStream } from './pack-stream.js';
import { READ_BYTES } from './constants.js';

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

  save = async (absPath: string, _stat: FsStat): Promise<Uint8Array[]> => {
    // The tree builder's slots are per directory, so a subdirectory's files may start while a
    // file of its parent is still being read: those wait here for a buffer (memory stays at
    // `slots` buffers; the reader holding one never waits on the waiting ones).
    const buffer = this.buffers.pop() ?? (await new Promise<Buffer>((resolve) => this.waiting.push(resolve)));
    try {
      const ids: Uint8Array[] = [];
      for await (const plain of this.chunker.split(readInto(absPath, buffer), { borrow: true })) {
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
 * Reads a file into `buffer` again and again, yielding the filled part each time: the caller
 * must be done with it before asking for the next (the chunker copies what it keeps).
 */
async function* readInto(file: string, buffer: Buffer): AsyncGenerator<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}
