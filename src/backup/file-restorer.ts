/**
 * Writes one restored file from its chunks to a temporary name, then gives it its name: at
 * once (fsynced) for a large file or where there is no syncfs, or with its batch of small files
 * (durable-renames.ts). A file with a chunk no replica can supply is never written.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { DirectAppender } from '../util/direct-io.js';
import type { ChunkResult, CryptoWorker } from './crypto-worker.js';
import type { DurableRenames } from './durable-renames.js';
import type { ChunkLocation } from './formats.js';
import type { RestoreShards } from './restore-shards.js';
import { OPENING_AHEAD, SYNC_WRITE_BYTES } from './constants.js';
import { isLarge } from './restore-plan.js';
import { SmallFileOut } from './small-file-out.js';

/** A chunk of the file is in no shard we can get: the file is reported, not written. */
export class MissingChunk extends Error {
  readonly code = 'MISSING_CHUNK';
}

/** What a restored file takes from its tree node. */
export interface RestoredFile {
  size: number;
  mode: number;
  mtimeMs: number;
}

export class FileRestorer {
  /**
   * Temporary names: `<target>.dbs-restore-<this restore's random tag>-<counter>`. One random tag
   * per restore, not per file: getrandom for every small file showed in the restore's profile.
   */
  private readonly tag = randomBytes(4).toString('hex');
  private files = 0;

  constructor(
    /** Where a chunk is (the chunk index); undefined: in no shard we know. */
    private readonly locate: (id: Uint8Array) => ChunkLocation | undefined,
    private readonly shards: Pick<RestoreShards, 'file' | 'read'>,
    private readonly opener: Pick<CryptoWorker, 'open'>,
    /** Null: every small file is fsynced and renamed on its own. */
    private readonly durable: Pick<DurableRenames, 'add'> | null,
    private readonly openingAhead = OPENING_AHEAD,
  ) {}

  /**
   * Restores `e`, whose chunks are `ids` in order, at `target`. False if a chunk is missing. Chunks are read straight into the
   * crypto worker's slots and opened there, a few ahead of the one being written.
   */
  async restore(e: RestoredFile, ids: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, target: string, onBytes: (n: number) => void): Promise<boolean> {
    const tmp = `${target}.dbs-restore-${this.tag}-${(this.files++).toString(36)}`;
    // A large file goes out with direct I/O (it is not read back now, and filling the page cache
    // with it costs more CPU than decrypting it: util/direct-io.ts), is fsynced and renamed. A
    // small one goes out in ordinary writes (one per chunk), synced and renamed later with its
    // batch (or at once where there is no syncfs).
    const large = isLarge(e);
    const batched = !large && this.durable !== null;
    // The smallest files with synchronous calls (small-file-out.ts says why).
    const small = e.size <= SYNC_WRITE_BYTES;
    const out = small ? await SmallFileOut.create(tmp) : await DirectAppender.create(tmp, 0o600, large);
    // Two loops per file: one reads sealed chunks into the worker's slots, up to openingAhead
    // ahead; the other writes opened chunks in order. Disk reads, opening and disk writes overlap
    // (one loop doing both waited for each read and each write in turn). No deadlock between
    // files sharing the slots: every slot taken belongs to a chunk some writer is waiting for or
    // will take next, and writers release slots without waiting for one.
    const opening: Promise<ChunkResult>[] = [];
    const wake: { reader: (() => void) | null; writer: (() => void) | null } = { reader: null, writer: null };
    let readerDone = false;
    let stopped = false;
    const reader = (async () => {
      try {
        for await (const id of ids) {
          const loc = this.locate(id);
          const file = loc ? await this.shards.file(loc.shard) : null;
          if (!loc || !file) throw new MissingChunk();
          while (opening.length >= this.openingAhead && !stopped) await new Promise<void>((resolve) => (wake.reader = resolve));
          if (stopped) return;
          opening.push((await this.opener.open(id, (slot) => this.shards.read(file, loc.offset, loc.length, slot), { small: !large })).result);
          wake.writer?.();
        }
      } finally {
        readerDone = true;
        wake.writer?.();
      }
    })();
    // Awaited below; this only keeps an early failure from counting as unhandled meanwhile.
    reader.catch(() => {});
    try {
      for (;;) {
        if (opening.length === 0) {
          if (readerDone) break;
          await new Promise<void>((resolve) => (wake.writer = resolve));
          continue;
        }
        const plain = await opening.shift()!;
        wake.reader?.();
        try {
          await out.append(plain.bytes);
          onBytes(plain.bytes.length);
        } finally {
          plain.release();
        }
      }
      await reader;
      if (out instanceof SmallFileOut) {
        await out.finish({ sync: !batched, mode: e.mode & 0o7777, mtimeMs: e.mtimeMs });
      } else {
        await out.finish({ sync: !batched });
        await fs.chmod(tmp, e.mode & 0o7777);
        await fs.utimes(tmp, e.mtimeMs / 1000, e.mtimeMs / 1000);
      }
      if (batched) await this.durable!.add({ tmp, target, bytes: out.size });
      else await fs.rename(tmp, target);
      return true;
    } catch (err) {
      stopped = true;
      wake.reader?.();
      // Slots go back before waiting for the reader: it may be waiting for one of them.
      // Chunks still opening are of no interest now (the file already failed): released as they finish.
      const releaseAll = () => {
        for (const pending of opening.splice(0)) void pending.then((c) => c.release(), () => {});
      };
      releaseAll();
      // The reader's own failure is `err` or follows from it.
      await reader.catch(() => {});
      releaseAll();
      // The temporary file is removed next; a failed close changes nothing.
      await out.close().catch(() => {});
      await fs.rm(tmp, { force: true });
      if (err instanceof MissingChunk) return false;
      throw err;
    }
  }
}
