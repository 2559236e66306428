/**
 * BackupEngine: the owner's side of the network behind one small facade. It runs one backup,
 * restore or maintenance pass at a time and wires the stages, each in a file of its own:
 *
 * - backup: backup-pipeline.ts builds per-directory trees against the parent snapshot
 *   (src/snapshot/tree-builder.ts) → file-saver.ts (read, chunk) → pack-stream.ts (dedup) →
 *   sealer.ts → shard-packer.ts → shard-uploader.ts (bounded, first failure stops) →
 *   placement.ts; metadata.ts writes the index delta and a catalog segment into the last shard
 *   and the signed root record (root-record.ts) naming the new head segment.
 * - restore: restore.ts walks the snapshot's trees directory by directory; restore-plan.ts
 *   (pure) sizes slots and orders shards; restore-shards.ts fetches and reads shards;
 *   file-restorer.ts writes a file. recovery.ts rebuilds catalog and index from the network
 *   on a new machine.
 * - keeping backups alive: keep-alive.ts audits and cancels by audit-policy.ts (pure);
 *   repair.ts re-replicates; replica-locator.ts finds a shard's copies and hosts.
 *
 * What it takes from the peer is declared in ports.ts; settings are in constants.ts.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { releaseHashWorker } from '../storage/parallel-hasher.js';
import { runBackup } from './backup-pipeline.js';
import { Chunker } from './chunker.js';
import { type BackupEngineOptions, DEFAULT_ENGINE_OPTIONS } from './constants.js';
import type { BackupKeys } from './crypto.js';
import { CatalogDb } from './catalog-db.js';
import { BackupIndex } from './index-db.js';
import { KeepAlive } from './keep-alive.js';
import { Metadata } from './metadata.js';
import { ShardPlacement } from './placement.js';
import type { BackupPorts } from './ports.js';
import { recover } from './recovery.js';
import { Repairer } from './repair.js';
import { ErasureWorker } from '../erasure/erasure-worker.js';
import { PiecePlacement } from './piece-placement.js';
import { PieceRepairer } from './piece-repair.js';
import { PieceSchemes } from './piece-schemes.js';
import { ReplicaLocator } from './replica-locator.js';
import { runRestore } from './restore.js';
import { type AuditRecord, auditRecords, shardHealth, type ShardHealth } from './shard-health.js';
import { listSnapshotDir, type SnapshotEntryPage } from './snapshot-browse.js';
import type { BackupOptions, BackupResult, MaintenanceReport, RestoreOptions, RestoreResult, SnapshotInfo } from './types.js';
import { RetentionError } from '../retention/errors.js';
import { parseTags } from '../retention/tags.js';
import { type PruneOptions, type PruneResult, runPrune } from './prune.js';
import { diffSnapshots, findInSnapshots, type FoundEntry, type LsOptions, lsSnapshot, type SnapshotChange } from './snapshot-query.js';
import { snapshotStats, type SnapshotStats } from './snapshot-stats.js';
import { snapshotUniqueBytes } from './snapshot-unique.js';
import type { SnapshotEntryInfo } from './snapshot-browse.js';
import { createExclude } from './exclude.js';
import { UnrecordedContracts } from './unrecorded-contracts.js';
import { BrowseGate } from './browse-gate.js';
import { BROWSE_DRAIN_MS } from './constants.js';

export type { BackupEngineOptions } from './constants.js';
export type { BackupOptions, BackupProgress, BackupResult, MaintenanceReport, RestoreOptions, RestoreProgress, RestoreResult, SnapshotInfo, TreeBuildStats } from './types.js';
export type { BackupPorts } from './ports.js';
export type { PruneOptions, PruneResult, PruneStep } from './prune.js';
export type { FoundEntry, LsOptions, SnapshotChange } from './snapshot-query.js';
export type { SnapshotStats } from './snapshot-stats.js';

export class BackupEngine {
  private readonly options: Required<BackupEngineOptions>;
  private readonly index: BackupIndex;
  private readonly catalog: CatalogDb;
  private readonly chunker: Chunker;
  private readonly outbox: string;
  private readonly own: string;
  private readonly tmp: string;
  private readonly locator: ReplicaLocator;
  private readonly placement: ShardPlacement;
  private readonly metadata: Metadata;
  private readonly keepAlive: KeepAlive;
  private readonly repairer: Repairer;
  /** Erasure coding (encode, decode) on one worker thread, started on first use. */
  private readonly worker = new ErasureWorker();
  private readonly schemes: PieceSchemes;
  private readonly pieces: PiecePlacement;
  private readonly pieceRepairer: PieceRepairer;
  /** Contracts known only by ID (a recovered head shard's): prune cancels them. */
  private readonly unrecorded: UnrecordedContracts;
  /** Browsing walks and prune's removal, one side at a time (browse-gate.ts). */
  private readonly gate: BrowseGate;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ports: BackupPorts,
    db: ConstructorParameters<typeof BackupIndex>[0],
    dataDir: string,
    private readonly keys: BackupKeys,
    options: Partial<BackupEngineOptions> = {},
  ) {
    this.options = { ...DEFAULT_ENGINE_OPTIONS, ...options };
    this.index = new BackupIndex(db);
    this.catalog = new CatalogDb(db);
    this.unrecorded = new UnrecordedContracts(db);
    this.gate = new BrowseGate(ports.clock);
    this.chunker = new Chunker(keys.chunkerSeed, this.options.chunkSizes);
    this.outbox = path.join(dataDir, 'backup', 'outbox');
    this.own = path.join(dataDir, 'backup', 'shards');
    this.tmp = path.join(dataDir, 'backup', 'tmp');
    const { contracts, clock } = ports;
    this.locator = new ReplicaLocator(ports, this.tmp, this.worker);
    this.placement = new ShardPlacement(ports.placer, this.index, this.own, clock);
    this.metadata = new Metadata({ keys, index: this.index, catalog: this.catalog, outbox: this.outbox, placement: this.placement, locator: this.locator, contracts, roots: ports.roots, clock, compactAfterSegments: this.options.compactAfterSegments, indexPieceBytes: this.options.indexPieceBytes });
    this.keepAlive = new KeepAlive({ index: this.index, contracts, auditor: ports.auditor, locator: this.locator, placement: this.placement, hostGraceMs: this.options.hostGraceMs });
    this.schemes = new PieceSchemes(db);
    this.pieces = new PiecePlacement({ placement: this.placement, schemes: this.schemes, worker: this.worker, contracts, outbox: this.outbox });
    this.repairer = new Repairer({ index: this.index, locator: this.locator, placement: this.placement, clock, renewBeforeFraction: this.options.renewBeforeFraction, skip: (s) => this.schemes.schemeOf(s.hash, contracts.live()) !== null });
    this.pieceRepairer = new PieceRepairer({ index: this.index, contracts, schemes: this.schemes, locator: this.locator, placement: this.pieces, worker: this.worker, clock, renewBeforeFraction: this.options.renewBeforeFraction, tmp: this.tmp });
  }

  async init(): Promise<void> {
    for (const dir of [this.outbox, this.own, this.tmp]) {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      // Leftovers of an interrupted backup or restore: nothing refers to them.
      if (dir !== this.own) for (const f of await fs.readdir(dir)) await fs.rm(path.join(dir, f), { recursive: true, force: true });
    }
  }

  /**
   * Backs up `source` as a new snapshot on `replicas` hosts per shard (default 3), or coded
   * `erasure` K of N (each piece on its own host), against the newest snapshot of the same
   * path (files cache; `force` reads everything).
   */
  backup(source: string, opts: BackupOptions = {}): Promise<BackupResult> {
    if (opts.tags) opts = { ...opts, tags: parseTags(opts.tags) }; // BAD_POLICY before anything is read
    const deps = { keys: this.keys, chunker: this.chunker, index: this.index, outbox: this.outbox, tmp: this.tmp, placement: this.placement, pieces: this.pieces, locator: this.locator, metadata: this.metadata, clock: this.ports.clock, shardSize: this.options.shardSize, placingAtOnce: this.options.placingAtOnce };
    const root = path.resolve(source);
    // The hash worker's memory goes back as soon as the backup is over (see releaseHashWorker).
    return this.exclusive(async () => runBackup(deps, root, { ...opts, replicas: opts.replicas ?? 3 }, opts.onProgress ?? (() => {}), await createExclude(root, opts.exclude ?? {})).finally(releaseHashWorker));
  }

  /**
   * Snapshots, newest first. With no local record of any (a new machine with only the
   * recovery key), they are recovered from the network through the root record first.
   */
  async snapshots(): Promise<SnapshotInfo[]> {
    if (this.index.snapshots().length === 0) await this.exclusive(() => this.recover());
    return this.index.snapshots().map(({ id, createdAt, source, files, bytes, tags, durationMs, addedBytes }) => ({ id, createdAt, source, files, bytes, ...(tags ? { tags } : {}), ...(durationMs !== undefined ? { durationMs, addedBytes } : {}) }));
  }

  /**
   * Forgets snapshots: a catalog segment of `snapshot-forgotten` records is placed and named by
   * the root record, then they leave the local list. Their data stays on hosts until prune.
   */
  removeSnapshots(ids: readonly string[]): Promise<void> {
    return this.exclusive(async () => {
      const known = new Set(this.index.snapshots().map((s) => s.id));
      const unknown = ids.filter((id) => !known.has(id));
      if (unknown.length) throw new RetentionError('UNKNOWN_SNAPSHOT', `no snapshot ${unknown[0]}`);
      await this.metadata.forgetSnapshots(ids);
    });
  }

  /** Restores a snapshot, or the path `opts.path` inside it, into `dest` (empty or missing). */
  restore(snapshotId: string, dest: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
    const deps = { keys: this.keys, index: this.index, locator: this.locator, recover: () => this.recover(), maxChunk: this.chunker.sizes.max, tmp: this.tmp };
    return this.exclusive(() => runRestore(deps, snapshotId, path.resolve(dest), opts, opts.onProgress ?? (() => {})).finally(releaseHashWorker));
  }

  /** The entries of one folder of a snapshot, a page at a time; runs beside other tasks (it only reads). */
  entries(snapshotId: string, dir: string, page: { offset: number; limit: number }): Promise<SnapshotEntryPage> {
    return listSnapshotDir(this.browseDeps(), snapshotId, dir, page);
  }

  /** A folder's entries (`recursive`: everything below it), trees read as reached; beside other tasks. */
  ls(snapshotId: string, dir = '', opts: LsOptions = {}): AsyncGenerator<SnapshotEntryInfo> {
    return lsSnapshot(this.browseDeps(), snapshotId, dir, opts);
  }

  /** What changed from snapshot `a` to `b`; unchanged folders are not read. */
  diff(a: string, b: string): AsyncGenerator<SnapshotChange> {
    return diffSnapshots(this.browseDeps(), a, b);
  }

  /** Entries matching a gitignore-style pattern, in every snapshot or one. */
  find(pattern: string, snapshotId?: string): AsyncGenerator<FoundEntry> {
    return findInSnapshots(this.browseDeps(), pattern, snapshotId);
  }

  /** Source, stored and held-on-hosts bytes, from the local index. */
  stats(): SnapshotStats {
    return snapshotStats(this.index, this.locator);
  }

  /** Snapshot ID → bytes that forgetting it alone would free (trees walked as reached); beside other tasks. */
  uniqueBytes(): Promise<Map<string, number>> {
    return snapshotUniqueBytes(this.browseDeps());
  }

  private browseDeps() {
    return { keys: this.keys, index: this.index, locator: this.locator, tmp: this.tmp, enter: () => this.gate.enter() };
  }

  /** Every shard of ours: replicas wanted and live, and each host's last audit. */
  shardHealth(): ShardHealth[] {
    return shardHealth(this.index, this.locator);
  }

  /** How each host last answered an audit, per contract (cancelled ones too). */
  auditRecords(): AuditRecord[] {
    return auditRecords(this.index);
  }

  /**
   * Audits hosts that are due, cancels contracts of hosts that failed or stayed away past the
   * grace period, and re-replicates every shard that has fewer live replicas than wanted.
   */
  maintain(now = this.ports.clock.now(), opts: { auditAll?: boolean } = {}): Promise<MaintenanceReport> {
    return this.exclusive(async () => {
      const audits = await this.keepAlive.auditDue(now, opts.auditAll);
      const copies = await this.repairer.run();
      const pieces = await this.pieceRepairer.run();
      const report = {
        ...audits,
        replaced: copies + pieces.placed,
        repairDownloadedBytes: this.repairer.lastBytes.downloaded + pieces.downloadBytes,
        repairUploadedBytes: this.repairer.lastBytes.uploaded + pieces.uploadBytes,
      };
      // Hosts changed: the catalog in the network must name the new ones, or a new machine
      // would look for the shards where they no longer are. Until that succeeds, every pass
      // tries again.
      if (report.cancelled > 0 || report.replaced > 0) this.metadata.markStale();
      await this.metadata.publishCatalogIfStale();
      return report;
    });
  }

  /**
   * Reclaims what no kept snapshot needs (prune.ts): plans from the local index, repacks,
   * rewrites index and catalog, cancels contracts. One task at a time with backups, restores
   * and maintenance.
   */
  prune(opts: PruneOptions = {}): Promise<PruneResult> {
    const deps = { keys: this.keys, index: this.index, locator: this.locator, placement: this.placement, metadata: this.metadata, contracts: this.ports.contracts, outbox: this.outbox, tmp: this.tmp, shardSize: this.options.shardSize, pinned: () => this.pinnedMetadata(), headShard: () => this.catalog.head()?.location.shard ?? null, unrecorded: this.unrecorded, peers: this.ports.peers, now: () => this.ports.clock.now(), removal: (work: () => Promise<void>, waiting: () => void) => this.gate.removal(work, BROWSE_DRAIN_MS, waiting) };
    return this.exclusive(async () => {
      // A new machine prunes from the recovered catalog.
      if (!this.catalog.head()) await this.recover();
      return runPrune(deps, opts);
    });
  }

  /** The live index pieces and the blobs of the head catalog segment's shard (prune counts them as used). */
  private *pinnedMetadata(): Generator<Uint8Array> {
    for (const p of this.catalog.pieces()) yield p.id;
    const head = this.catalog.head();
    if (head) for (const e of this.index.chunksIn(head.location.shard)) yield e.chunk;
  }

  /**
   * Rebuilds catalog and index from the network, then places the head shard again: its
   * contracts are named in the root record only by host and ID (a segment cannot record the
   * shard it is written in), so this machine cannot record them in full in its next segment.
   * Without new contracts recorded, a later recovery of a chain that goes on from here would
   * find no hosts for that shard (test/faults/clock-skew.test.ts found it). Placing it from the
   * copy recovery kept costs one small shard's contracts; the old ones are kept by ID and
   * cancelled by the next prune (prune-unrecorded.ts).
   */
  private async recover(): Promise<void> {
    await recover({ keys: this.keys, index: this.index, catalog: this.catalog, roots: this.ports.roots, contracts: this.ports.contracts, unrecorded: this.unrecorded, locator: this.locator, clock: this.ports.clock, own: this.own, tmp: this.tmp });
    if (!this.catalog.head()) return;
    if ((await this.repairer.run()) > 0) this.metadata.markStale();
    await this.metadata.publishCatalogIfStale();
  }

  /** Runs one backup, restore or repair at a time. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.busy.then(task, task);
    // Only the order matters here: each caller hears its own task's failure through `run`.
    this.busy = run.catch(() => {});
    return run;
  }
}
