/**
 * One backup, as stages: walk the tree (scanTree) → cut each file into chunks (Chunker) → skip
 * chunks already stored → seal the rest on a worker (Sealer) → pack them into shards
 * (ShardPacker) → place full shards in the background (ShardUploader, ShardPlacement) → write
 * the snapshot and catalog (Metadata).
 */
import { promises as fs } from 'node:fs';
import { toHex } from '../util/bytes.js';
import type { Chunker } from './chunker.js';
import { type BackupKeys, chunkId } from './crypto.js';
import type { ChunkLocation, TreeEntry } from './formats.js';
import type { BackupIndex } from './index-db.js';
import type { Metadata } from './metadata.js';
import type { ShardPlacement } from './placement.js';
import type { PackedChunk } from './shard-writer.js';
import { READ_BYTES } from './constants.js';
import { Sealer } from './sealer.js';
import { ShardPacker } from './shard-packer.js';
import { ShardUploader } from './shard-uploader.js';
import type { ExcludeEntry } from './exclude.js';
import { scanTree } from './tree.js';
import type { BackupProgress, BackupResult } from './types.js';

export interface BackupPipelineDeps {
  keys: BackupKeys;
  chunker: Chunker;
  index: BackupIndex;
  outbox: string;
  placement: ShardPlacement;
  metadata: Metadata;
  clock: { now(): number };
  shardSize: number;
  placingAtOnce: number;
}

/** Where this backup's chunks are: placed (or stored by an earlier backup), or sealed into a shard not placed yet. */
class ChunkMap {
  readonly placed = new Map<string, ChunkLocation>();
  private readonly pending = new Set<string>();

  has(hex: string): boolean {
    return this.placed.has(hex) || this.pending.has(hex);
  }

  known(hex: string, at: ChunkLocation): void {
    this.placed.set(hex, at);
  }

  sealing(hex: string): void {
    this.pending.add(hex);
  }

  shardPlaced(shard: Uint8Array, chunks: PackedChunk[]): void {
    for (const c of chunks) {
      const hex = toHex(c.id);
      this.placed.set(hex, { shard, offset: c.offset, length: c.length });
      this.pending.delete(hex);
    }
  }
}

export async function runBackup(deps: BackupPipelineDeps, source: string, replicas: number, onProgress: (p: BackupProgress) => void, exclude: ExcludeEntry | null = null): Promise<BackupResult> {
  if (!Number.isInteger(replicas) || replicas < 1) throw new Error('replicas must be a whole number of at least 1');
  const progress: BackupProgress = { phase: 'scanning', files: 0, bytes: 0, uploadedBytes: 0 };
  const totals = { shards: 0, shortfall: 0 };
  const entries: TreeEntry[] = [];
  const chunks = new ChunkMap();
  const uploader = new ShardUploader(deps.placingAtOnce);
  const packer = new ShardPacker(deps.outbox, deps.shardSize, (writer, digest) =>
    uploader.submit(async () => {
      const placed = await deps.placement.placeNew(writer, replicas, 'data', digest);
      totals.shards++;
      totals.shortfall += replicas - placed.contracts;
      progress.uploadedBytes += writer.size;
      onProgress({ ...progress });
      chunks.shardPlaced(placed.hash, writer.chunks);
    }, () => writer.discard()),
  );
  const sealer = new Sealer(deps.keys, deps.chunker.sizes.max, (id, sealed) => packer.add(id, sealed));
  const readBuffer = Buffer.allocUnsafe(READ_BYTES);
  try {
    for await (const { entry, absolute } of scanTree(source, exclude)) {
      if (entry.type === 'file') {
        entry.chunks = [];
        // One read buffer for the whole backup, and chunks borrowed from it: a fresh 1 MiB
        // buffer per read (what a read stream does) fragments malloc's arenas, and the owner's
        // RSS grew with the size of the file (docs/benchmarks.md, backup).
        for await (const plain of deps.chunker.split(readInto(absolute, readBuffer), { borrow: true })) {
          const id = chunkId(deps.keys, plain);
          const hex = toHex(id);
          entry.chunks.push(id);
          progress.bytes += plain.length;
          if (chunks.has(hex)) continue;
          const known = deps.index.chunk(id);
          if (known) {
            chunks.known(hex, known);
            continue;
          }
          uploader.check();
          // seal copies the chunk: the read buffer may be reused once it resolves.
          chunks.sealing(hex);
          await sealer.seal(id, plain);
        }
        progress.files++;
        progress.phase = 'uploading';
        onProgress({ ...progress });
      }
      entries.push(entry);
    }
    await sealer.flush();
    await packer.flush();
    await uploader.finish();
  } catch (err) {
    sealer.abandon();
    await packer.discard();
    // Placements still running clean up after themselves (see ShardPlacement.placeNew); wait for them.
    await uploader.settle();
    throw err;
  } finally {
    await sealer.close();
  }

  progress.phase = 'metadata';
  onProgress({ ...progress });
  const id = deps.metadata.newSnapshotId();
  const snapshot = { id, createdAt: deps.clock.now(), source, entries, index: chunks.placed };
  const metadataShortfall = await deps.metadata.writeSnapshot(snapshot, { files: progress.files, bytes: progress.bytes }, replicas);
  totals.shortfall += metadataShortfall;
  progress.phase = 'done';
  onProgress({ ...progress });
  // Two more shards: the snapshot's and the catalog's.
  return { id, files: progress.files, bytes: progress.bytes, uploadedBytes: progress.uploadedBytes, shards: totals.shards + 2, shortfall: totals.shortfall };
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
