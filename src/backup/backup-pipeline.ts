/**
 * One backup, as stages: build the snapshot's trees directory by directory against the parent
 * snapshot (src/snapshot/tree-builder.ts: files cache, watcher paths, `force`) → each new file
 * read and cut into chunks (FileSaver) → chunks and tree blobs deduplicated, sealed on a worker
 * and packed into shards by one pack stream (PackStream, Sealer, ShardPacker) → full shards
 * placed in the background (ShardUploader, ShardPlacement) → the index delta and a catalog
 * segment written into the last shard (Metadata) → that shard placed → root record.
 *
 * A backup where nothing changed stores no chunk and no tree (same bytes, same IDs): it makes
 * one small shard holding its index delta (empty) and catalog segment.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { BlobLocation } from '../snapshot/catalog-records.js';
import { writeIndexDelta, type WrittenIndexEntry } from '../snapshot/index-delta.js';
import { buildTree } from '../snapshot/tree-builder.js';
import { treeLoader } from '../snapshot/tree-walker.js';
import { BlobReader } from './blob-reader.js';
import type { Chunker } from './chunker.js';
import { type BackupKeys, chunkId, sealParts } from './crypto.js';
import type { ExcludeEntry } from './exclude.js';
import { FileSaver } from './file-saver.js';
import type { BackupIndex, SnapshotRow } from './index-db.js';
import type { Metadata } from './metadata.js';
import { PackStream } from './pack-stream.js';
import type { PiecePlacement } from './piece-placement.js';
import type { ShardPlacement } from './placement.js';
import type { ReplicaLocator } from './replica-locator.js';
import { Sealer } from './sealer.js';
import { ShardPacker } from './shard-packer.js';
import { ShardUploader } from './shard-uploader.js';
import type { ShardWriter } from './shard-writer.js';
import { FILE_CONCURRENCY } from './constants.js';
import { checkScheme } from '../erasure/layout.js';
import type { BackupOptions, BackupProgress, BackupResult } from './types.js';

export interface BackupPipelineDeps {
  keys: BackupKeys;
  chunker: Chunker;
  index: BackupIndex;
  outbox: string;
  /** Where downloads of parent-snapshot shards go (a directory of its own is made inside). */
  tmp: string;
  placement: ShardPlacement;
  /** Erasure-coded placement (backups with `erasure`). */
  pieces: Pick<PiecePlacement, 'placeNew'>;
  locator: Pick<ReplicaLocator, 'localCopy' | 'fetchShard'>;
  metadata: Metadata;
  clock: { now(): number };
  shardSize: number;
  placingAtOnce: number;
}

export async function runBackup(deps: BackupPipelineDeps, source: string, options: BackupOptions & { replicas: number }, onProgress: (p: BackupProgress) => void, exclude: ExcludeEntry | null = null): Promise<BackupResult> {
  const { replicas } = options;
  if (!Number.isInteger(replicas) || replicas < 1) throw new Error('replicas must be a whole number of at least 1');
  // K of N with K >= 2 is coded into pieces; K = 1 is N whole copies, as --replicas N.
  const scheme = options.erasure ? checkScheme(options.erasure) : null;
  const coded = scheme && scheme.k >= 2 ? scheme : null;
  const copies = scheme && !coded ? scheme.n : replicas;
  // Shards that hold the closing metadata (index delta, catalog segment) stay whole copies:
  // a new machine reads them before it knows any contract, through the hosts the root record
  // names. N − K + 1 copies survive the same N − K lost hosts as the pieces do.
  const metaCopies = coded ? coded.n - coded.k + 1 : copies;
  let closing = false;
  await fs.lstat(source).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? `nothing to back up at ${source}: no such file or directory` : `cannot read ${source}: ${err.message}`);
  });
  const { keys, index, locator } = deps;
  const startedAt = deps.clock.now();
  const parent = options.force ? undefined : index.latestOf(source);
  const progress: BackupProgress = { phase: 'scanning', files: 0, bytes: 0, uploadedBytes: 0 };
  const totals = { shards: 0, shortfall: 0 };
  /** Shards this backup placed, in order (the last holds the delta and the segment). */
  const placedShards: Uint8Array[] = [];
  const placedBy = new Map<ShardWriter, Uint8Array>();
  const uploader = new ShardUploader(deps.placingAtOnce);
  const packer = new ShardPacker(deps.outbox, deps.shardSize, (writer, digest) =>
    uploader.submit(async () => {
      const whole = !coded || closing;
      const wanted = whole ? (coded ? metaCopies : copies) : coded.n;
      const placed = whole ? await deps.placement.placeNew(writer, wanted, 'data', digest) : await deps.pieces.placeNew(writer, coded, 'data', digest);
      totals.shards++;
      totals.shortfall += wanted - placed.contracts;
      progress.uploadedBytes += writer.size;
      onProgress({ ...progress });
      pack.placed(writer.chunks);
      placedShards.push(placed.hash);
      placedBy.set(writer, placed.hash);
    }, () => writer.discard()),
  );
  const sealer = new Sealer(keys, deps.chunker.sizes.max, async (id, sealed) => {
    uploader.check();
    await packer.add(id, sealed);
  });
  const pack = new PackStream(keys, index, sealer, packer, deps.chunker.sizes.max);
  const saver = new FileSaver(keys, deps.chunker, pack, FILE_CONCURRENCY, (n) => {
    progress.bytes += n;
    progress.phase = 'uploading';
    onProgress({ ...progress });
  });
  // Parent trees: from our own shard copies, or downloaded once per shard.
  const work = await fs.mkdtemp(path.join(deps.tmp, 'backup-'));
  const located = new Map<string, Promise<string | null>>();
  const reader = new BlobReader(keys, index, (hash) => {
    const key = Buffer.from(hash).toString('hex');
    let file = located.get(key);
    if (!file) located.set(key, (file = (async () => (await locator.localCopy(index.shard(hash))) ?? locator.fetchShard(hash, work))()));
    return file;
  });
  try {
    const built = await buildTree(
      source,
      { saveFile: saver.save, saveBlob: pack.saveBlob, loadTree: treeLoader(reader.load) },
      { parent: parent?.root ?? undefined, force: options.force, changedPaths: options.changedPaths, fileConcurrency: FILE_CONCURRENCY, ...(exclude ? { exclude } : {}) },
    );
    await pack.flush();
    // Every full shard placed: the delta names their hashes, the segment their contracts.
    await uploader.settle();
    uploader.check();
    closing = true;
    progress.phase = 'metadata';
    progress.files = built.stats.filesRead + built.stats.filesReused;
    progress.bytes = built.stats.bytesRead + built.stats.bytesReused;
    onProgress({ ...progress });
    const snapshot: SnapshotRow = { id: deps.metadata.newSnapshotId(), createdAt: deps.clock.now(), source, files: progress.files, bytes: progress.bytes, root: built.root, parent: parent?.id ?? null, ...(options.tags?.length ? { tags: options.tags } : {}) };
    // The index delta. Entries of shards placed already (this backup's, and any a failed backup
    // left) go into pieces packed like any blob, in as many shards as they fill; the shard being
    // filled holds the rest: the entries of the chunks in it (null: "this shard") and the catalog
    // segment, which must land in the shard it describes.
    const filling = packer.open;
    const fillingChunks = [...(filling?.chunks ?? [])];
    const unindexed = index.unindexedShards();
    const early: { piece: Omit<BlobLocation, 'shard'>; writer: ShardWriter }[] = [];
    await writeIndexDelta(
      (function* (): Generator<WrittenIndexEntry> {
        for (const shard of unindexed) yield* index.chunksIn(shard);
      })(),
      async (plain) => {
        const id = chunkId(keys, plain);
        const at = await packer.add(id, sealParts(keys, id, plain));
        early.push({ piece: { id, offset: at.offset, length: at.length }, writer: at.writer });
      },
    );
    // Shards the early pieces filled are placed now: their hashes are known.
    await uploader.settle();
    uploader.check();
    const shardOf = (writer: ShardWriter | null): Uint8Array | null => (writer && writer !== packer.open ? placedBy.get(writer)! : null);
    const fillingShard = shardOf(filling);
    const tail = await deps.metadata.writeTail(
      async (plain) => {
        const id = chunkId(keys, plain);
        const at = await packer.add(id, sealParts(keys, id, plain), { hold: true });
        return { id, shard: null, offset: at.offset, length: at.length };
      },
      fillingChunks.map((c) => ({ chunk: c.id, shard: fillingShard, offset: c.offset, length: c.length })),
      snapshot,
      early.map((e) => ({ ...e.piece, shard: shardOf(e.writer) })),
    );
    const before = placedShards.length;
    await packer.flush();
    await uploader.finish();
    const last = placedShards[before]!;
    index.addSnapshot({ ...snapshot, durationMs: deps.clock.now() - startedAt, addedBytes: progress.uploadedBytes });
    await deps.metadata.commit(tail, last, [...unindexed, ...placedShards]);
    progress.phase = 'done';
    onProgress({ ...progress });
    return { id: snapshot.id, files: progress.files, bytes: progress.bytes, uploadedBytes: progress.uploadedBytes, shards: totals.shards, shortfall: totals.shortfall, stats: built.stats };
  } catch (err) {
    sealer.abandon();
    await packer.discard();
    // Placements still running clean up after themselves (see ShardPlacement.placeNew); wait for them.
    await uploader.settle();
    throw err;
  } finally {
    await sealer.close();
    await fs.rm(work, { recursive: true, force: true });
  }
}
