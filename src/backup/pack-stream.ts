/**
 * The one way into a backup's shards: file chunks and metadata blobs (trees, chunk lists) alike
 * are deduplicated against the index and what this backup already sealed, sealed, and packed by
 * the same packer, so metadata travels in the same shards as data. Calls are serialized: the
 * sealer and the shard writer take one chunk at a time, in order.
 */
import type { BlobKind, SavedBlob } from '../snapshot/ports.js';
import { toHex } from '../util/bytes.js';
import { type BackupKeys, chunkId, sealParts } from './crypto.js';
import type { BackupIndex } from './index-db.js';
import type { Sealer } from './sealer.js';
import type { ShardPacker } from './shard-packer.js';
import type { PackedChunk } from './shard-writer.js';

export class PackStream {
  /** Sealed by this backup, in a shard not placed (so not indexed) yet, by hex ID. */
  private readonly pending = new Set<string>();
  private lock: Promise<unknown> = Promise.resolve();
  /** Chunks and blobs this backup stored (not found already stored). */
  stored = 0;

  constructor(
    private readonly keys: BackupKeys,
    private readonly index: Pick<BackupIndex, 'chunk'>,
    private readonly sealer: Pick<Sealer, 'seal' | 'flush'>,
    private readonly packer: Pick<ShardPacker, 'add'>,
    /** The largest plaintext the sealer's worker slots take (bytes); larger blobs are sealed here. */
    private readonly maxChunk: number,
  ) {}

  /**
   * Stores `plain` under `id` unless it is stored already; true if it was new. `plain` may be
   * reused by the caller once this resolves (the sealer copies it).
   */
  add(id: Uint8Array, plain: Uint8Array): Promise<boolean> {
    return this.serial(async () => {
      const hex = toHex(id);
      if (this.pending.has(hex) || this.index.chunk(id)) return false;
      this.pending.add(hex);
      this.stored++;
      if (plain.length <= this.maxChunk) await this.sealer.seal(id, plain);
      // A tree blob of a huge directory may pass the worker's slot size: sealed on this thread.
      else await this.packer.add(id, sealParts(this.keys, id, plain));
      return true;
    });
  }

  /** The SaveBlob port of the tree builder (src/snapshot/ports.ts). */
  saveBlob = async (_kind: BlobKind, plain: Uint8Array): Promise<SavedBlob> => {
    const id = chunkId(this.keys, plain);
    return { id, stored: await this.add(id, plain) };
  };

  /** Hands on everything still being sealed, so the packer holds it all. */
  flush(): Promise<void> {
    return this.serial(() => this.sealer.flush());
  }

  /** A shard was placed: its chunks are in the index now. */
  placed(chunks: readonly PackedChunk[]): void {
    for (const c of chunks) this.pending.delete(toHex(c.id));
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lock.then(task);
    // Only the order matters here: each caller hears its own failure through `run`.
    this.lock = run.catch(() => {});
    return run;
  }
}
