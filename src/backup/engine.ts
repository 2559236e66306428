/**
 * Backups, restores and keeping them alive: the owner's side of the network.
 *
 * Backup: walk the tree; cut each file into content-defined chunks; skip chunks already
 * stored (keyed IDs); seal the rest and pack them into shards; place each shard on
 * `replicas` hosts. Then write a metadata shard holding the snapshot object and the catalog,
 * place it too, and publish the signed root record that points to it.
 *
 * Restore: fetch the snapshot object, then each needed shard once from any live replica
 * (failing over to the next), open and check every chunk, and write each file to a temporary
 * name, fsync and rename. A file with a chunk no replica can supply is reported, never written.
 *
 * Keep-alive: audit every host on schedule; a failed audit, or silence beyond the grace
 * period, cancels the contract; every shard with fewer live replicas than wanted gets new
 * hosts, from our local copy or from a surviving replica.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Clock } from '../util/clock.js';
import { fsyncDir } from '../util/atomic-file.js';
import { type Address, formatAddress, parseAddress } from '../net/address.js';
import { toHex } from '../util/bytes.js';
import type { DhtNode } from '../dht/node.js';
import { mutableKey } from '../dht/records.js';
import type { SigningKeyPair } from '../crypto/ed25519.js';
import type { ContractService } from '../contracts/service.js';
import type { StoredContract } from '../contracts/store.js';
import { NegotiationError, type Refusal } from '../contracts/negotiation.js';
import type { AuditOutcome, ShardTarget } from '../transfer/client.js';
import { Chunker, type ChunkSizes, DEFAULT_CHUNK_SIZES } from './chunker.js';
import { type BackupKeys, chunkId, open, SEAL_OVERHEAD, sealParts } from './crypto.js';
import type { ShardDigest } from '../storage/merkle.js';
import { releaseHashWorker } from '../storage/parallel-hasher.js';
import PQueue from 'p-queue';
import {
  type BlobRef,
  type Catalog,
  type ChunkLocation,
  decodeCatalog,
  decodeRootRecord,
  decodeSnapshot,
  encodeCatalog,
  encodeRootRecord,
  encodeSnapshot,
  ROOT_RECORD_SALT,
  type SnapshotObject,
  type SnapshotSummary,
  type TreeEntry,
} from './formats.js';
import { BackupIndex, type ShardRow } from './index-db.js';
import { RestoreShards } from './restore-shards.js';
import { ShardWriter } from './shard-writer.js';
import { type ChunkResult, CryptoWorker } from './crypto-worker.js';
import { DirectAppender, windowBound } from '../util/direct-io.js';
import { syncFileSystem } from '../util/sync-fs.js';
import { DurableRenames } from './durable-renames.js';
import { scanTree } from './tree.js';

/** What the engine needs from the peer it runs in. */
export interface PeerServices {
  readonly dht: DhtNode;
  readonly contractService: ContractService;
  readonly signing: SigningKeyPair;
  readonly clock: Clock;
  placeShard(file: string, options: { replicas: number; exclude?: Uint8Array[]; digest?: ShardDigest }): Promise<{ hash: Uint8Array; size: number; merkleRoot: Uint8Array; contracts: StoredContract[]; refusals: Refusal[] }>;
  /** Downloads a verified shard into a new file (removed again if it does not verify). */
  fetchShardToFile(address: Address, target: ShardTarget, file: string, options?: { direct?: boolean }): Promise<void>;
  audit(contract: StoredContract): Promise<AuditOutcome>;
  findPeer(publicKey: Uint8Array): Promise<{ host: string; port: number } | null>;
}

export interface BackupEngineOptions {
  /** Target shard size (default 16 MiB). */
  shardSize: number;
  chunkSizes: ChunkSizes;
  /** How long a host may stay unreachable before its contract is cancelled (default 24 h). */
  hostGraceMs: number;
  /**
   * A contract this close to its end no longer counts as a replica, so a fresh one is placed
   * before it lapses (default: a tenth of the contract's length).
   */
  renewBeforeFraction?: number;
  /** Full shards placed in the background at once while the next one fills (default 2; 1 = one at a time). */
  placingAtOnce?: number;
}

export interface BackupProgress {
  phase: 'scanning' | 'uploading' | 'metadata' | 'done';
  files: number;
  bytes: number;
  uploadedBytes: number;
}

export interface BackupResult {
  id: string;
  files: number;
  bytes: number;
  /** Sealed bytes sent to hosts (once per shard, not per replica); 0 when nothing changed. */
  uploadedBytes: number;
  shards: number;
  /** Replicas asked for but not found; the peer keeps trying in the background. */
  shortfall: number;
}

export interface RestoreProgress {
  files: number;
  bytes: number;
  totalBytes: number;
}

export interface RestoreResult {
  files: number;
  bytes: number;
  /** Files that could not be restored because no replica could supply a chunk. */
  incomplete: string[];
}

export interface SnapshotInfo {
  id: string;
  createdAt: number;
  source: string;
  files: number;
  bytes: number;
}

export class BackupEngine {
  private readonly index: BackupIndex;
  private readonly chunker: Chunker;
  private readonly outbox: string;
  private readonly own: string;
  private readonly tmp: string;
  private busy: Promise<unknown> = Promise.resolve();
  /** The catalog in the network names hosts that changed since; republish it. */
  private catalogStale = false;
  /**
   * Hosts that failed an audit (lost or altered data), by hex key: no shard is placed on them
   * again. Found by test/faults/lies-shards.test.ts: keyed by shard alone, a host that had just
   * failed an audit of one shard was given another one by the same repair pass.
   */
  private readonly failedHosts = new Map<string, Uint8Array>();

  constructor(
    private readonly peer: PeerServices,
    db: ConstructorParameters<typeof BackupIndex>[0],
    dataDir: string,
    private readonly keys: BackupKeys,
    private readonly options: BackupEngineOptions = { shardSize: 16 * 2 ** 20, chunkSizes: DEFAULT_CHUNK_SIZES, hostGraceMs: 24 * 3600_000 },
  ) {
    this.index = new BackupIndex(db);
    this.chunker = new Chunker(keys.chunkerSeed, options.chunkSizes);
    this.outbox = path.join(dataDir, 'backup', 'outbox');
    this.own = path.join(dataDir, 'backup', 'shards');
    this.tmp = path.join(dataDir, 'backup', 'tmp');
  }

  async init(): Promise<void> {
    for (const dir of [this.outbox, this.own, this.tmp]) {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      // Leftovers of an interrupted backup or restore: nothing refers to them.
      if (dir !== this.own) for (const f of await fs.readdir(dir)) await fs.rm(path.join(dir, f), { recursive: true, force: true });
    }
  }

  /** Runs one backup, restore or repair at a time. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.busy.then(task, task);
    this.busy = run.catch(() => {});
    return run;
  }

  // --- backup ---------------------------------------------------------------------------

  backup(source: string, opts: { replicas?: number; onProgress?: (p: BackupProgress) => void } = {}): Promise<BackupResult> {
    // The hash worker's memory goes back as soon as the backup is over (see releaseHashWorker).
    return this.exclusive(() => this.runBackup(path.resolve(source), opts.replicas ?? 3, opts.onProgress ?? (() => {})).finally(releaseHashWorker));
  }

  private async runBackup(source: string, replicas: number, onProgress: (p: BackupProgress) => void): Promise<BackupResult> {
    if (!Number.isInteger(replicas) || replicas < 1) throw new Error('replicas must be a whole number of at least 1');
    const progress: BackupProgress = { phase: 'scanning', files: 0, bytes: 0, uploadedBytes: 0 };
    const entries: TreeEntry[] = [];
    const used = new Map<string, ChunkLocation>();
    let writer: ShardWriter | null = null;
    let shards = 0;
    let shortfall = 0;
    /** Chunks sealed into a shard that is not placed yet. */
    const pending = new Set<string>();
    const readBuffer = Buffer.allocUnsafe(READ_BYTES);
    // Full shards are placed in the background while the next one fills, at most
    // `placingAtOnce` at a time (each is a file on disk, so memory stays flat); the first
    // failure stops the backup.
    const placing = new Set<Promise<void>>();
    let failure: { error: unknown } | null = null;
    const rethrow = () => {
      if (failure) throw failure.error;
    };

    const flush = async () => {
      if (!writer || writer.chunks.length === 0) return;
      const w = writer;
      writer = null;
      let digest: ShardDigest;
      try {
        digest = await w.finish();
      } catch (err) {
        await w.discard();
        throw err;
      }
      while (placing.size >= (this.options.placingAtOnce ?? PLACING_AT_ONCE)) await Promise.race(placing);
      if (failure) {
        await w.discard();
        rethrow();
      }
      const task = this.place(w, replicas, 'data', digest).then(
        (placed) => {
          shards++;
          shortfall += replicas - placed.contracts;
          progress.uploadedBytes += w.size;
          onProgress({ ...progress });
          for (const c of w.chunks) {
            used.set(toHex(c.id), { shard: placed.hash, offset: c.offset, length: c.length });
            pending.delete(toHex(c.id));
          }
        },
        (error: unknown) => {
          failure ??= { error };
        },
      );
      placing.add(task);
      void task.then(() => placing.delete(task));
    };

    // Chunks are sealed on a worker thread, a few ahead of the main thread, and packed into
    // the shard in the order they were read.
    const sealer = new CryptoWorker(this.keys, this.chunker.sizes.max + SEAL_OVERHEAD, SEALING_AHEAD + 1);
    const sealing: Promise<ChunkResult>[] = [];
    const packSealed = async (keep: number) => {
      while (sealing.length > keep) {
        const sealed = await sealing.shift()!;
        const w = (writer ??= new ShardWriter(this.outbox));
        try {
          await w.add(sealed.id, sealed.bytes);
        } finally {
          sealed.release();
        }
        if (w.size >= this.options.shardSize) await flush();
      }
    };

    try {
      for await (const { entry, absolute } of scanTree(source)) {
        if (entry.type === 'file') {
          entry.chunks = [];
          // One read buffer for the whole backup, and chunks borrowed from it: a fresh 1 MiB
          // buffer per read (what a read stream does) fragments malloc's arenas, and the owner's
          // RSS grew with the size of the file (docs/benchmarks.md, backup).
          for await (const plain of this.chunker.split(readInto(absolute, readBuffer), { borrow: true })) {
            const id = chunkId(this.keys, plain);
            const hex = toHex(id);
            entry.chunks.push(id);
            progress.bytes += plain.length;
            if (used.has(hex) || pending.has(hex)) continue;
            const known = this.index.chunk(id);
            if (known) {
              used.set(hex, known);
              continue;
            }
            rethrow();
            // seal copies the chunk: the read buffer may be reused once it resolves.
            sealing.push((await sealer.seal(id, plain)).result);
            pending.add(hex);
            await packSealed(SEALING_AHEAD);
          }
          progress.files++;
          progress.phase = 'uploading';
          onProgress({ ...progress });
        }
        entries.push(entry);
      }
      await packSealed(0);
      await flush();
      await Promise.all(placing);
      rethrow();
    } catch (err) {
      for (const s of sealing.splice(0)) void s.then((c) => c.release(), () => {});
      await (writer as ShardWriter | null)?.discard();
      // Placements still running clean up after themselves (see place); wait for them.
      await Promise.all(placing);
      throw err;
    } finally {
      await sealer.close();
    }

    // Metadata: the snapshot object in a shard of its own; then the catalog, which can now
    // list that shard's contracts too, in a catalog shard the root record points to.
    progress.phase = 'metadata';
    onProgress({ ...progress });
    const id = `${new Date(this.peer.clock.now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
    const snapshot: SnapshotObject = { id, createdAt: this.peer.clock.now(), source, entries, index: used };
    const meta = new ShardWriter(this.outbox);
    const snapshotBlob = await this.addBlob(meta, encodeSnapshot(snapshot));
    const placed = await this.place(meta, replicas, 'meta', await meta.finish());
    shortfall += replicas - placed.contracts;
    this.index.addSnapshot({ id, createdAt: snapshot.createdAt, source, files: progress.files, bytes: progress.bytes, meta: { ...snapshotBlob, shard: placed.hash } });
    shortfall += await this.publishCatalog(replicas);
    progress.phase = 'done';
    onProgress({ ...progress });
    return { id, files: progress.files, bytes: progress.bytes, uploadedBytes: progress.uploadedBytes, shards: shards + 2, shortfall };
  }

  private async addBlob(writer: ShardWriter, plain: Uint8Array): Promise<BlobRef> {
    const id = chunkId(this.keys, plain);
    const packed = await writer.add(id, sealParts(this.keys, id, plain));
    return { shard: null, offset: packed.offset, length: packed.length, chunk: id };
  }

  /** Places a finished shard file and records it; keeps the file as our local copy. */
  private async place(writer: ShardWriter, replicas: number, kind: 'data' | 'meta' | 'catalog', digest: ShardDigest): Promise<{ hash: Uint8Array; contracts: number }> {
    let placed;
    try {
      placed = await this.peer.placeShard(writer.file, { replicas, digest, exclude: [...this.failedHosts.values()] });
    } catch (err) {
      await writer.discard();
      throw err;
    }
    if (placed.contracts.length === 0) {
      await writer.discard();
      throw new NegotiationError(`no host stored the shard: ${placed.refusals.map((r) => r.reason).join(', ') || 'every upload failed'}`, placed.refusals);
    }
    const localPath = path.join(this.own, toHex(placed.hash));
    await fs.rename(writer.file, localPath);
    await fsyncDir(this.own);
    this.index.addShard({ hash: placed.hash, size: placed.size, merkleRoot: placed.merkleRoot, replicas, kind, localPath, createdAt: this.peer.clock.now() }, writer.chunks);
    return { hash: placed.hash, contracts: placed.contracts.length };
  }

  private catalog(): Catalog {
    const store = this.peer.contractService.store;
    const owner = store.list({ role: 'owner', live: true });
    return {
      snapshots: this.index.snapshots(),
      // Catalog shards are not listed: only the newest matters, and the root record names it.
      shards: this.index.shards().filter((s) => s.kind !== 'catalog').map((s) => ({
        hash: s.hash,
        size: s.size,
        merkleRoot: s.merkleRoot,
        replicas: s.replicas,
        kind: s.kind,
        contracts: owner.filter((c) => Buffer.from(c.contract.terms.shardHash).equals(s.hash)).map((c) => ({ contract: c.contract, address: c.counterpartAddress })),
      })),
    };
  }

  private async publishRoot(metaShard: Uint8Array, catalog: BlobRef): Promise<void> {
    const shard = this.index.shard(metaShard)!;
    const hosts = this.liveContracts(metaShard).map((c) => ({ host: c.counterpart, contract: c.contract.id }));
    const record = encodeRootRecord({ shard: metaShard, size: shard.size, merkleRoot: shard.merkleRoot, catalog, hosts, createdAt: this.peer.clock.now() });
    const current = await this.peer.dht.get(mutableKey(this.peer.signing.publicKey, ROOT_RECORD_SALT));
    const seq = Math.max(this.peer.clock.now(), (current?.seq ?? -1) + 1);
    await this.peer.dht.putSigned(this.peer.signing, record, { salt: ROOT_RECORD_SALT, seq });
  }

  /**
   * Writes the current catalog into a small shard of its own, points the root record at it
   * and retires older catalog shards. Returns how many replicas it is short of `replicas`.
   */
  private async publishCatalog(replicas = Math.max(1, ...this.index.shards().map((s) => s.replicas))): Promise<number> {
    if (this.index.snapshots().length === 0) return 0;
    const writer = new ShardWriter(this.outbox);
    const catalogBlob = await this.addBlob(writer, encodeCatalog(this.catalog()));
    const placed = await this.place(writer, replicas, 'catalog', await writer.finish());
    await this.publishRoot(placed.hash, catalogBlob);
    await this.retireCatalogShards(placed.hash);
    return replicas - placed.contracts;
  }

  /** Catalog-only shards older than the one the root record now names are no longer needed. */
  private async retireCatalogShards(current: Uint8Array): Promise<void> {
    for (const shard of this.index.shards()) {
      if (shard.kind !== 'catalog' || Buffer.from(shard.hash).equals(current)) continue;
      for (const c of this.liveContracts(shard.hash)) await this.peer.contractService.owner.cancel(c);
      this.index.removeShard(shard.hash);
      if (shard.localPath) await fs.rm(shard.localPath, { force: true });
    }
  }

  // --- listing and recovery ---------------------------------------------------------------

  /**
   * Snapshots, newest first. With no local record of any (a new machine with only the
   * recovery key), they are recovered from the network through the root record first.
   */
  async snapshots(): Promise<SnapshotInfo[]> {
    if (this.index.snapshots().length === 0) await this.exclusive(() => this.recover());
    return this.index.snapshots().map(({ id, createdAt, source, files, bytes }) => ({ id, createdAt, source, files, bytes }));
  }

  /** Reads the root record and the catalog it points to, and imports shards, contracts and snapshots. */
  private async recover(): Promise<void> {
    const record = await this.peer.dht.get(mutableKey(this.peer.signing.publicKey, ROOT_RECORD_SALT));
    if (!record) return;
    const root = decodeRootRecord(record.value);
    let shardFile: string | null = null;
    for (const h of root.hosts) {
      const address = await this.peer.findPeer(h.host).catch(() => null);
      if (!address) continue;
      try {
        const target = { id: h.contract, terms: { shardHash: root.shard, shardSize: root.size, merkleRoot: root.merkleRoot } };
        shardFile = await this.download((file) => this.peer.fetchShardToFile(address, target, file, { direct: false }));
        break;
      } catch {
        // Try the next host.
      }
    }
    if (!shardFile) throw new Error('found the backup root record, but none of the hosts of its catalog answered');
    try {
      const catalog = decodeCatalog(await this.readBlob(shardFile, root.catalog));
      const store = this.peer.contractService.store;
      const now = this.peer.clock.now();
      for (const s of catalog.shards) {
        this.index.addShard({ hash: s.hash, size: s.size, merkleRoot: s.merkleRoot, replicas: s.replicas, kind: s.kind, localPath: null, createdAt: now }, []);
        for (const { contract, address } of s.contracts) {
          if (!store.get(contract.id)) store.insert({ contract, role: 'owner', counterpartAddress: address, state: 'active', reservedUntil: null, now });
        }
      }
      // Every snapshot's metadata shard is in the catalog, with its contracts.
      for (const s of catalog.snapshots) this.index.addSnapshot({ ...s, meta: { ...s.meta, shard: s.meta.shard ?? root.shard } });
    } finally {
      await fs.rm(shardFile, { force: true });
    }
  }

  // --- restore ----------------------------------------------------------------------------

  restore(snapshotId: string, dest: string, opts: { path?: string; onProgress?: (p: RestoreProgress) => void } = {}): Promise<RestoreResult> {
    return this.exclusive(() => this.runRestore(snapshotId, path.resolve(dest), opts.path, opts.onProgress ?? (() => {})).finally(releaseHashWorker));
  }

  private async runRestore(snapshotId: string, dest: string, only: string | undefined, onProgress: (p: RestoreProgress) => void): Promise<RestoreResult> {
    if (this.index.snapshots().length === 0) await this.recover();
    const summary = this.index.snapshots().find((s) => s.id === snapshotId);
    if (!summary) throw new Error(`unknown snapshot ${snapshotId}`);
    await assertEmptyOrMissing(dest);
    const work = await fs.mkdtemp(path.join(this.tmp, 'restore-'));
    const shards = new RestoreShards((hash) => this.shardFile(hash, work), { downloads: RESTORE_DOWNLOADS });
    let durable: DurableRenames | null = null;
    let opener: CryptoWorker | null = null;
    // File tasks, awaited before anything is cleaned up (even when the loop that starts them fails).
    const small = new PQueue({ concurrency: RESTORE_FILES });
    const large = new PQueue({ concurrency: 1 });
    const outcomes: Promise<boolean>[] = [];
    let finished = false;
    try {
      const metaFile = await shards.file(summary.meta.shard!);
      if (!metaFile) throw new Error('no host could supply the snapshot metadata');
      const snapshot = decodeSnapshot(await this.readBlob(metaFile, { ...summary.meta }));
      const prefix = only ? only.replace(/^\/+|\/+$/g, '') : '';
      const selected = snapshot.entries.filter((e) => !prefix || e.path === prefix || e.path.startsWith(`${prefix}/`));
      if (prefix && selected.length === 0) throw new Error(`no path "${only}" in snapshot ${snapshotId}`);
      const totalBytes = selected.reduce((s, e) => s + (e.type === 'file' ? e.size : 0), 0);
      // Slots hold the largest sealed chunk's aligned read window, and a plaintext chunk of
      // the largest size we cut (a larger one, from other settings, comes back as a copy).
      let largestSealed = 0;
      for (const loc of snapshot.index.values()) largestSealed = Math.max(largestSealed, loc.length);
      // Small files get slots of their own, sized for their chunks (a small file's chunk is no
      // larger than the file): many at once, for little memory.
      let largestSmallSealed = 0;
      let largestSmallFile = -1;
      for (const e of selected) {
        if (e.type !== 'file' || e.size >= LARGE_FILE) continue;
        largestSmallFile = Math.max(largestSmallFile, e.size);
        for (const id of e.chunks ?? []) largestSmallSealed = Math.max(largestSmallSealed, snapshot.index.get(toHex(id))?.length ?? 0);
      }
      const smallSlotBytes = Math.max(windowBound(largestSmallSealed), largestSmallFile, 1);
      const smallPool = largestSmallFile >= 0 ? { slotBytes: smallSlotBytes, slots: Math.max(RESTORE_FILES, Math.min(SMALL_OPENING_SLOTS, Math.floor(SMALL_SLOTS_BYTES / smallSlotBytes))) } : null;
      const chunkOpener = (opener = new CryptoWorker(this.keys, Math.max(windowBound(largestSealed), this.chunker.sizes.max), OPENING_SLOTS, smallPool));
      const progress: RestoreProgress = { files: 0, bytes: 0, totalBytes };
      await fs.mkdir(dest, { recursive: true });
      // Small files get their names in batches, once a batch is on the device: one syncfs per
      // batch (durable-renames.ts). Where there is no syncfs, each is fsynced and renamed.
      const syncDest = async () => {
        if (!(await syncFileSystem(dest))) throw new Error(`could not sync the restored files in ${dest} (sync -f failed)`);
      };
      if (await syncFileSystem(dest)) durable = new DurableRenames({ maxFiles: DURABLE_BATCH_FILES, maxBytes: DURABLE_BATCH_BYTES, sync: syncDest });
      for (const e of selected.filter((x) => x.type === 'dir')) await fs.mkdir(path.join(dest, e.path), { recursive: true });
      // Shards are fetched in the order the files need them, a few at a time, ahead of the writers.
      shards.prefetch(shardsInOrder(snapshot, selected));
      // Small files are written several at a time through their own small slots, and named in
      // synced batches; large ones one at a time beside them (each holds a sealed and an open
      // chunk of up to 4 MiB in memory), fsynced and renamed one by one; results
      // keep the snapshot's order.
      // Directories known to exist: one mkdir per directory, not one per file.
      const made = new Set([dest, ...selected.filter((x) => x.type === 'dir').map((x) => path.join(dest, x.path))]);
      const ensureDir = async (dir: string) => {
        if (made.has(dir)) return;
        await fs.mkdir(dir, { recursive: true });
        made.add(dir);
      };
      const fileEntries: TreeEntry[] = [];
      for (const e of selected) {
        const target = path.join(dest, e.path);
        if (e.type === 'symlink') {
          await ensureDir(path.dirname(target));
          await fs.symlink(e.target!, target);
          await fs.lutimes(target, e.mtimeMs / 1000, e.mtimeMs / 1000).catch(() => {});
        } else if (e.type === 'file') {
          fileEntries.push(e);
          const outcome = (e.size >= LARGE_FILE ? large : small).add(async () => {
            await ensureDir(path.dirname(target));
            const ok = await this.restoreFile(snapshot, e, target, shards, chunkOpener, durable, (n) => {
              progress.bytes += n;
              onProgress({ ...progress });
            });
            if (ok) progress.files++;
            onProgress({ ...progress });
            return ok;
          }) as Promise<boolean>;
          // Awaited below; this only keeps an early failure from counting as unhandled.
          outcome.catch(() => {});
          outcomes.push(outcome);
        }
      }
      const settled = await Promise.allSettled(outcomes);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      const incomplete = fileEntries.filter((_, i) => !(settled[i] as PromiseFulfilledResult<boolean>).value).map((e) => e.path);
      await durable?.flush();
      // The names (renames, symlinks, directories) on the device before the restore says it is
      // done; before the directories get their modes, which may take away our right to read them.
      if (durable) await syncDest();
      else for (const dir of withAncestors(made, path.dirname(dest))) await fsyncDir(dir);
      // Directory modes and times last, deepest first: writing into a directory changes its mtime.
      for (const e of selected.filter((x) => x.type === 'dir').sort((a, b) => b.path.length - a.path.length)) {
        const target = path.join(dest, e.path);
        await fs.chmod(target, e.mode & 0o7777);
        await fs.utimes(target, e.mtimeMs / 1000, e.mtimeMs / 1000);
      }
      finished = true;
      return { files: progress.files, bytes: progress.bytes, incomplete };
    } finally {
      if (!finished) {
        // A failure may leave file tasks running: none may add a file after the discard.
        small.clear();
        large.clear();
        await Promise.allSettled(outcomes);
        await durable?.discard().catch(() => {});
      }
      await opener?.close();
      await shards.close();
      await fs.rm(work, { recursive: true, force: true });
    }
  }

  /**
   * Writes one file from its chunks to a temporary name, then renames it. False if a chunk is
   * missing. Chunks are read straight into the crypto worker's slots and opened there, a few
   * ahead of the one being written.
   */
  private async restoreFile(
    snapshot: SnapshotObject,
    e: TreeEntry,
    target: string,
    shards: RestoreShards,
    opener: CryptoWorker,
    durable: DurableRenames | null,
    onBytes: (n: number) => void,
  ): Promise<boolean> {
    const tmp = `${target}.dbs-restore-${randomBytes(4).toString('hex')}`;
    // A large file goes out with direct I/O (it is not read back now, and filling the page cache
    // with it costs more CPU than decrypting it: util/direct-io.ts), is fsynced and renamed. A
    // small one goes out in ordinary writes (one per chunk), synced and renamed later with its
    // batch (or at once where there is no syncfs).
    const large = e.size >= LARGE_FILE;
    const batched = !large && durable !== null;
    const out = await DirectAppender.create(tmp, 0o600, large);
    // Two loops per file: one reads sealed chunks into the worker's slots, up to OPENING_AHEAD
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
        for (const id of e.chunks ?? []) {
          const loc = snapshot.index.get(toHex(id));
          const file = loc ? await shards.file(loc.shard) : null;
          if (!loc || !file) throw new MissingChunk();
          while (opening.length >= OPENING_AHEAD && !stopped) await new Promise<void>((resolve) => (wake.reader = resolve));
          if (stopped) return;
          opening.push((await opener.open(id, (slot) => shards.read(file, loc.offset, loc.length, slot), { small: !large })).result);
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
      await out.finish({ sync: !batched });
      await fs.chmod(tmp, e.mode & 0o7777);
      await fs.utimes(tmp, e.mtimeMs / 1000, e.mtimeMs / 1000);
      if (batched) await durable!.add({ tmp, target, bytes: out.size });
      else await fs.rename(tmp, target);
      return true;
    } catch (err) {
      stopped = true;
      wake.reader?.();
      // Slots go back before waiting for the reader: it may be waiting for one of them.
      const releaseAll = () => {
        for (const pending of opening.splice(0)) void pending.then((c) => c.release(), () => {});
      };
      releaseAll();
      await reader.catch(() => {});
      releaseAll();
      await out.close().catch(() => {});
      await fs.rm(tmp, { force: true });
      if (err instanceof MissingChunk) return false;
      throw err;
    }
  }

  /** A verified copy of a shard: our own, or downloaded from any live replica. Null if none can supply it. */
  private async shardFile(hash: Uint8Array, work: string): Promise<string | null> {
    const row = this.index.shard(hash);
    if (row?.localPath && (await exists(row.localPath))) return row.localPath;
    for (const c of this.replicaSources(hash)) {
      try {
        return await this.download(c.fetch, work);
      } catch {
        // Failed over to the next replica.
      }
    }
    return null;
  }

  /** Ways to fetch a shard: one per live contract for it. */
  private replicaSources(hash: Uint8Array): { fetch: (file: string) => Promise<void> }[] {
    return this.liveContracts(hash).map((c) => ({ fetch: (file: string) => this.fetchFrom(c, file) }));
  }

  /**
   * Where a host may be: its last known address first, then (looked up only when asked for)
   * the address in its peer record, in case it moved.
   */
  private async *addressesOf(c: StoredContract): AsyncGenerator<Address> {
    const known = c.counterpartAddress ? parseAddress(c.counterpartAddress) : null;
    if (known) yield known;
    const found = await this.peer.findPeer(c.counterpart).catch(() => null);
    if (found && (!known || formatAddress(found) !== formatAddress(known))) yield found;
  }

  /** Fetches a shard from a host under contract `c` into `file`, trying each address it may be at. */
  private async fetchFrom(c: StoredContract, file: string, direct = true): Promise<void> {
    let last: unknown = new Error('host address unknown');
    for await (const address of this.addressesOf(c)) {
      try {
        return await this.peer.fetchShardToFile(address, c.contract, file, { direct });
      } catch (err) {
        last = err;
      }
    }
    throw last;
  }

  /** Runs `fetch` into a new temporary file in `dir`; a bad copy (size, ID, root) rejects and leaves nothing. */
  private async download(fetch: (file: string) => Promise<void>, dir = this.tmp): Promise<string> {
    const file = path.join(dir, `${randomBytes(8).toString('hex')}.part`);
    try {
      await fetch(file);
      return file;
    } catch (err) {
      await fs.rm(file, { force: true });
      throw err;
    }
  }

  private async readBlob(file: string, ref: BlobRef): Promise<Buffer> {
    return open(this.keys, ref.chunk, await readRange(file, ref.offset, ref.length));
  }

  // --- keeping backups alive ----------------------------------------------------------------

  private liveContracts(hash: Uint8Array): StoredContract[] {
    return this.peer.contractService.store.list({ role: 'owner', live: true }).filter((c) => Buffer.from(c.contract.terms.shardHash).equals(hash));
  }

  /** Live contracts that are not yet due for renewal. */
  private lastingContracts(hash: Uint8Array): StoredContract[] {
    const nowSeconds = this.peer.clock.now() / 1000;
    const fraction = this.options.renewBeforeFraction ?? 0.1;
    return this.liveContracts(hash).filter(({ contract: { terms } }) => terms.expiresAt - nowSeconds > (terms.expiresAt - terms.createdAt) * fraction);
  }

  /**
   * Audits hosts that are due, cancels contracts of hosts that failed or stayed away past the
   * grace period, and re-replicates every shard that has fewer live replicas than wanted.
   */
  maintain(now = this.peer.clock.now(), opts: { auditAll?: boolean } = {}): Promise<{ audited: number; failed: number; cancelled: number; replaced: number }> {
    return this.exclusive(async () => {
      const report = { audited: 0, failed: 0, cancelled: 0, replaced: 0 };
      const store = this.peer.contractService.store;
      // Hosts found unreachable in this pass: their other contracts need no second try.
      const unreachable = new Set<string>();
      for (const c of store.list({ role: 'owner', live: true })) {
        if (c.state !== 'active') continue;
        const health = this.index.health(c.contract.id);
        const interval = c.contract.terms.auditIntervalSeconds * 1000;
        if (!opts.auditAll && health.lastAuditAt !== null && now - health.lastAuditAt < interval) continue;
        report.audited++;
        const outcome = unreachable.has(toHex(c.counterpart)) ? null : await this.auditWherever(c);
        if (outcome?.passed) {
          this.index.setHealth(c.contract.id, now, null);
          this.peer.contractService.honoured(c.counterpart);
          continue;
        }
        if (outcome && !isTransient(outcome)) {
          // The host lost or altered data (or no longer honours the contract): it goes, and
          // it is not asked to keep this shard again.
          report.failed++;
          if (outcome.reason !== 'WRONG_STATE' && outcome.reason !== 'UNKNOWN_CONTRACT') this.peer.contractService.strike(c.counterpart);
          this.failedHosts.set(toHex(c.counterpart), c.counterpart);
          await this.peer.contractService.owner.cancel(c);
          report.cancelled++;
          continue;
        }
        // Unreachable: short downtime costs nothing; past the grace period the contract goes.
        unreachable.add(toHex(c.counterpart));
        const since = health.unreachableSince ?? now;
        this.index.setHealth(c.contract.id, health.lastAuditAt, since);
        if (now - since >= this.options.hostGraceMs) {
          // The contract is cancelled here at once; the signed notice to a host we could not
          // reach is sent without waiting for it to time out (it may still be alive elsewhere).
          void this.peer.contractService.owner.cancel(c);
          report.cancelled++;
        }
      }
      report.replaced += await this.repair();
      // Hosts changed: the catalog in the network must name the new ones, or a new machine
      // would look for the shards where they no longer are. Until that succeeds, every pass
      // tries again.
      if (report.cancelled > 0 || report.replaced > 0) this.catalogStale = true;
      if (this.catalogStale) {
        await this.publishCatalog().then(
          () => (this.catalogStale = false),
          () => {},
        );
      }
      return report;
    });
  }

  /**
   * Audits a host at its last known address and, if nothing answers there, at the address
   * its peer record gives (it may have moved). Null when it cannot be reached at all.
   */
  private async auditWherever(c: StoredContract): Promise<AuditOutcome | null> {
    for await (const address of this.addressesOf(c)) {
      try {
        return await this.peer.audit({ ...c, counterpartAddress: formatAddress(address) });
      } catch {
        // Unreachable there; try the next address.
      }
    }
    return null;
  }

  /**
   * Places new replicas for shards below their wanted count, a few shards at a time: each
   * placement mostly waits (lookups that meet dead contacts, HELLOs, uploads), so overlapping
   * them cuts the time a host's death leaves shards short. Returns how many were placed.
   */
  private async repair(): Promise<number> {
    let placed = 0;
    const queue = new PQueue({ concurrency: REPAIRS_AT_ONCE });
    for (const shard of this.index.shards()) {
      const live = this.liveContracts(shard.hash);
      const missing = shard.replicas - this.lastingContracts(shard.hash).length;
      if (missing <= 0) continue;
      void queue.add(async () => {
        const file = await this.sourceFor(shard, live);
        if (!file) return;
        try {
          // Excluded: hosts with a live contract for it (never two replicas on one host; an
          // expiring one's renewal goes elsewhere), and hosts that failed any audit.
          const exclude = [...live.map((c) => c.counterpart), ...this.failedHosts.values()];
          const result = await this.peer.placeShard(file.path, { replicas: missing, exclude });
          placed += result.contracts.length;
        } catch {
          // Nobody available now; the next pass tries again.
        } finally {
          if (file.temporary) await fs.rm(file.path, { force: true });
        }
      });
    }
    await queue.onIdle();
    return placed;
  }

  /** Our local copy of a shard, or one fetched from a surviving replica. */
  private async sourceFor(shard: ShardRow, live: StoredContract[]): Promise<{ path: string; temporary: boolean } | null> {
    if (shard.localPath && (await exists(shard.localPath))) return { path: shard.localPath, temporary: false };
    for (const c of live.filter((x) => x.state === 'active')) {
      try {
        return { path: await this.download((file) => this.fetchFrom(c, file)), temporary: true };
      } catch {
        // Next replica.
      }
    }
    return null;
  }
}

class MissingChunk extends Error {}

/** Size of the backup's one read buffer. */
const READ_BYTES = 1024 * 1024;

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

/** Shards re-replicated at once by a maintenance pass. */
const REPAIRS_AT_ONCE = 3;
/** Chunks being sealed on the worker while the main thread reads and chunks the next. */
const SEALING_AHEAD = 2;
/** Chunks a restored file has being read and opened ahead of the one it writes (3: 1.9 s for a 1 GiB file, 2: 2.7 s); slots shared by the files restored at once. */
const OPENING_AHEAD = 3;
const OPENING_SLOTS = 4;
/** Slots for small files' chunks: at most this many, and no more than fit this many requested bytes, but at least one per small file restored at once. */
const SMALL_OPENING_SLOTS = 16;
const SMALL_SLOTS_BYTES = 12 * 1024 * 1024;
/** Full shards being placed while the next one fills. */
const PLACING_AT_ONCE = 2;
/** Shards a restore downloads at once, and files it writes at once. */
const RESTORE_DOWNLOADS = 3;
const RESTORE_FILES = 8;
/** Files at least this large are restored one at a time, with direct I/O and an fsync each. */
const LARGE_FILE = 1024 * 1024;
/** Small restored files synced and renamed together (durable-renames.ts): at most this many files, or this many bytes. */
const DURABLE_BATCH_FILES = 512;
const DURABLE_BATCH_BYTES = 128 * 1024 * 1024;

/** `dirs` and every directory above them up to and including `top`: what a rename or mkdir in them changed. */
function withAncestors(dirs: Iterable<string>, top: string): Set<string> {
  const out = new Set<string>([top]);
  for (let dir of dirs) {
    while (!out.has(dir) && dir !== path.dirname(dir)) {
      out.add(dir);
      dir = path.dirname(dir);
    }
  }
  return out;
}

/** The shards the selected files need, each once, in the order the files first need them. */
function shardsInOrder(snapshot: SnapshotObject, selected: TreeEntry[]): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  for (const e of selected) {
    for (const id of e.chunks ?? []) {
      const loc = snapshot.index.get(toHex(id));
      if (!loc) continue;
      const key = toHex(loc.shard);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(loc.shard);
    }
  }
  return out;
}

/** Audit answers that say nothing about the data: a full host, a hiccup, a dropped line. */
const TRANSIENT = new Set(['BUSY', 'INTERNAL', 'IDLE_TIMEOUT', 'CONNECTION_LOST', 'SLOW_SENDER']);

function isTransient(outcome: AuditOutcome): boolean {
  return outcome.reason !== undefined && TRANSIENT.has(outcome.reason);
}

async function readRange(file: string, offset: number, length: number): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, offset);
    if (bytesRead !== length) throw new Error('shard is shorter than its index says');
    return buf;
  } finally {
    await handle.close();
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

async function assertEmptyOrMissing(dest: string): Promise<void> {
  const names = await fs.readdir(dest).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    if (err.code === 'ENOTDIR') throw new Error(`destination ${dest} is not a directory`);
    throw err;
  });
  if (names.length > 0) throw new Error(`destination ${dest} is not empty`);
}
