/**
 * What a backup writes besides file data and trees, at its end and into its last shard (no
 * shard of its own): the index delta (what this backup added: chunk → shard, offset, length)
 * and one catalog segment with what changed since the last one (the new snapshot, shards and
 * contracts not recorded yet, contracts ended, the delta's pieces). Every
 * DEFAULTS.compactAfterSegments segments the live catalog is written as a new base chain
 * instead. Then the signed root record (v2, root-record.ts) names the new head segment.
 *
 * Maintenance that changed hosts writes a segment alone, in a small catalog shard.
 */
import { randomBytes } from 'node:crypto';
import { CatalogWriter, shouldCompact } from '../snapshot/catalog-delta.js';
import type { BlobLocation, CatalogRecord } from '../snapshot/catalog-records.js';
import { writeIndexDelta, type WrittenIndexEntry } from '../snapshot/index-delta.js';
import type { Clock } from '../util/clock.js';
import { toHex } from '../util/bytes.js';
import { type CatalogDb, contractAdded } from './catalog-db.js';
import { type BackupKeys, chunkId, sealParts } from './crypto.js';
import type { BackupIndex, SnapshotRow } from './index-db.js';
import { keptShard } from './piece-schemes.js';
import type { ShardPlacement } from './placement.js';
import type { OwnerContracts, RootRecords } from './ports.js';
import type { ReplicaLocator } from './replica-locator.js';
import { encodeRootRecordV2 } from './root-record.js';
import { ShardWriter } from './shard-writer.js';
import { writeBoundedPieces } from './bounded-pieces.js';
import { DEFAULTS as SNAPSHOT_DEFAULTS } from '../snapshot/constants.js';

export interface MetadataDeps {
  keys: BackupKeys;
  index: BackupIndex;
  catalog: CatalogDb;
  outbox: string;
  placement: ShardPlacement;
  locator: Pick<ReplicaLocator, 'liveContracts'>;
  contracts: Pick<OwnerContracts, 'live'>;
  roots: RootRecords;
  clock: Clock;
  /** Segments in a chain before it is compacted (default DEFAULTS.compactAfterSegments). */
  compactAfterSegments?: number;
  /** Largest index piece prune's rewrite writes (bytes, default SNAPSHOT_DEFAULTS.indexPieceBytes). */
  indexPieceBytes?: number;
}

/** Packs one sealed metadata blob into the shard being written; its location has shard null ("this shard"). */
export type PackBlob = (plain: Uint8Array) => Promise<BlobLocation>;

/** What a backup's closing metadata wrote, to be recorded once its shard is placed. */
export interface WrittenTail {
  records: CatalogRecord[];
  /** The index pieces written (compacted: every live piece, which replace all before). */
  pieces: BlobLocation[];
  head: { seq: number; base: number; location: BlobLocation };
  compacted: boolean;
}

/** Prune's full rewrite: `added` is the whole live index; shards in `doomed` (hex) are about to be cancelled. */
export interface IndexRewrite {
  doomed: Set<string>;
}

export class Metadata {
  /** The catalog in the network names hosts that changed since; republish it. */
  private catalogStale = false;

  constructor(private readonly deps: MetadataDeps) {}

  /** A new snapshot's ID: its UTC time to the second, and 6 random hex digits. */
  newSnapshotId(): string {
    const time = new Date(this.deps.clock.now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    return `${time}-${randomBytes(3).toString('hex')}`;
  }

  /**
   * Writes the index delta of `added` and the catalog segment(s) through `pack`, into the
   * shard being filled (which must not be handed on meanwhile). `written`: index pieces this
   * backup already packed into earlier shards (see backup-pipeline.ts). `snapshot` is the new one.
   */
  async writeTail(pack: PackBlob, added: Iterable<WrittenIndexEntry> | AsyncIterable<WrittenIndexEntry>, snapshot: SnapshotRow | null, written: BlobLocation[] = [], forgotten: readonly string[] = [], rewrite?: IndexRewrite): Promise<WrittenTail> {
    const { catalog, index, contracts, clock } = this.deps;
    let pieces = [...written, ...(await writeIndexDelta(added, pack))];
    const stored = catalog.head();
    const compacted = stored !== null && (rewrite !== undefined || shouldCompact(stored.seq - stored.base + 1, this.deps.compactAfterSegments));
    const records: CatalogRecord[] = [];
    if (compacted) {
      // The live state as a new base chain: every shard, live contract and snapshot, and every
      // live index piece (prune: the shards it is about to drop left out, the index rewritten).
      const doomed = rewrite?.doomed ?? new Set<string>();
      for (const s of index.shards()) if (!doomed.has(toHex(s.hash))) records.push({ type: 'shard-added', hash: s.hash, size: s.size, merkleRoot: s.merkleRoot, replicas: s.replicas, kind: s.kind });
      for (const c of contracts.live()) if (!doomed.has(toHex(keptShard(c.contract.terms)))) records.push(contractAdded(c));
      const gone = new Set(forgotten);
      for (const s of [...index.snapshots()].reverse()) if (s.root && s.id !== snapshot?.id && !gone.has(s.id)) records.push(snapshotRecord(s));
      if (snapshot) records.push(snapshotRecord(snapshot));
      if (!rewrite) pieces = [...catalog.pieces(), ...pieces];
      records.push({ type: 'index-added', pieces, replacesAll: true });
    } else {
      records.push(...catalog.pendingRecords(index.shards(), contracts.live(), null, clock.now()));
      if (snapshot) records.push(snapshotRecord(snapshot));
      for (const id of forgotten) records.push({ type: 'snapshot-forgotten', id, at: clock.now() });
      if (pieces.length > 0) records.push({ type: 'index-added', pieces, replacesAll: false });
    }
    const writer = compacted
      ? new CatalogWriter(pack, { head: null, seq: stored.seq + 1 })
      : new CatalogWriter(pack, { head: stored ? { seq: stored.seq, location: stored.location } : null });
    for (const r of records) await writer.add(r);
    const head = (await writer.finish())!;
    const base = compacted ? stored.seq + 1 : (stored?.base ?? head.seq);
    return { records, pieces, head: { ...head, base }, compacted };
  }

  /**
   * The shard holding `tail` was placed as `shard`: record it (with `indexed`, the shards whose
   * chunks the tail's delta holds), and point the root record at the new head.
   */
  async commit(tail: WrittenTail, shard: Uint8Array, indexed: Uint8Array[] = []): Promise<void> {
    const { catalog } = this.deps;
    this.deps.index.markIndexed([...indexed, shard]);
    catalog.addPieces(tail.pieces, shard, tail.compacted);
    catalog.recorded(tail.records, tail.compacted);
    const l = tail.head.location;
    catalog.setHead({ seq: tail.head.seq, base: tail.head.base, location: { ...l, shard: l.shard ?? shard } });
    await this.publishRoot();
    this.catalogStale = false;
  }

  /** Hosts changed: the catalog must be published again (see publishCatalogIfStale). */
  markStale(): void {
    this.catalogStale = true;
  }

  /**
   * Publishes what changed since the last segment (contracts placed or cancelled by
   * maintenance) as a segment in a small catalog shard, and the root record naming it. On
   * failure it stays stale and the next pass tries again.
   */
  async publishCatalogIfStale(): Promise<void> {
    if (!this.catalogStale || !this.deps.catalog.head()) return;
    await this.publishCatalog().then(
      () => (this.catalogStale = false),
      // Not dropped: the flag stays set, and every maintenance pass tries again.
      () => {},
    );
  }

  /**
   * `dbs forget`: a segment of `snapshot-forgotten` records (with whatever else changed) in a
   * small catalog shard, the root record naming it, and only then the snapshots leave the local
   * list. Killed before the root record moves, the network still lists them and so does this
   * machine: forgetting again finishes the job.
   */
  async forgetSnapshots(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    if (this.deps.catalog.head()) await this.publishCatalog(undefined, ids);
    this.deps.index.removeSnapshots(ids);
  }

  /**
   * Prune's rewrite: the whole live index (`entries`) as new pieces and the live catalog as a
   * new base chain, placed and named by the root record. Afterwards no live piece or segment is
   * in a shard of `doomed`, so those can be cancelled. `into`: the last repacked shard, not yet
   * placed; the metadata goes in after its chunks (whose entries say "this shard"), and once it
   * is placed those chunks' index entries move to it. Without it, a shard of their own. The
   * index goes into shards of about `shardSize` each (bounded-pieces.ts), the catalog last.
   */
  async rewriteAll(entries: Iterable<WrittenIndexEntry>, doomed: Set<string>, replicas: number, into?: ShardWriter, shardSize = Infinity): Promise<void> {
    const { index, placement, outbox } = this.deps;
    const first = into ?? new ShardWriter(outbox);
    const own = [...first.chunks];
    // Placed first, then the entries move: the index never points at a shard no host has.
    const place = async (writer: ShardWriter): Promise<Uint8Array> => {
      const placed = await placement.placeNew(writer, replicas, writer === into ? 'data' : 'meta', await writer.finish());
      if (writer === first) index.putChunks(own.map((c) => ({ chunk: c.id, shard: placed.hash, offset: c.offset, length: c.length })));
      return placed.hash;
    };
    // The index in pieces, in shards of about `shardSize` (bounded-pieces.ts); the catalog after them.
    const { writer, pieces } = await writeBoundedPieces(
      { packInto: (w) => this.sealInto(w), newWriter: () => new ShardWriter(outbox), place, shardSize, pieceBytes: this.deps.indexPieceBytes ?? SNAPSHOT_DEFAULTS.indexPieceBytes },
      first,
      own.map((c) => ({ chunk: c.id, shard: null, offset: c.offset, length: c.length })),
      entries,
    );
    const tail = await this.writeTail(this.sealInto(writer), [], null, pieces, [], { doomed });
    const head = await place(writer);
    const kept = index.shards().filter((s) => !doomed.has(toHex(s.hash))).map((s) => s.hash);
    await this.commit(tail, head, kept);
    this.catalogStale = false;
  }

  /** Seals each metadata blob and packs it into `writer` (a shard of its own; its hash comes later). */
  private sealInto(writer: ShardWriter): PackBlob {
    return async (plain) => {
      const id = chunkId(this.deps.keys, plain);
      const packed = await writer.add(id, sealParts(this.deps.keys, id, plain));
      return { id, shard: null, offset: packed.offset, length: packed.length };
    };
  }

  private async publishCatalog(replicas = Math.max(1, ...this.deps.index.shards().map((s) => s.replicas)), forgotten: readonly string[] = []): Promise<void> {
    const { index, catalog, contracts, clock } = this.deps;
    // Nothing to record (only the head shard's hosts changed): the root record names them.
    if (forgotten.length === 0 && catalog.pendingRecords(index.shards(), contracts.live(), null, clock.now()).length === 0) return this.publishRoot();
    const writer = new ShardWriter(this.deps.outbox);
    const tail = await this.writeTail(
      this.sealInto(writer),
      [],
      null,
      [],
      forgotten,
    );
    const placed = await this.deps.placement.placeNew(writer, replicas, 'catalog', await writer.finish());
    await this.commit(tail, placed.hash);
  }

  /** Signs and publishes the root record naming the head segment, its shard and that shard's hosts. */
  private async publishRoot(): Promise<void> {
    const { index, catalog, locator, roots, clock } = this.deps;
    const head = catalog.head()!;
    const shard = index.shard(head.location.shard)!;
    const hosts = locator.liveContracts(head.location.shard).map((c) => ({ host: c.counterpart, contract: c.contract.id }));
    const record = encodeRootRecordV2({ head: head.location, size: shard.size, merkleRoot: shard.merkleRoot, seq: head.seq, base: head.base, hosts, createdAt: clock.now() });
    const current = await roots.read();
    // Later than any record already out there, even one written under a clock that ran ahead.
    const seq = Math.max(clock.now(), (current?.seq ?? -1) + 1);
    await roots.publish(record, seq);
  }
}

function snapshotRecord(s: SnapshotRow): CatalogRecord {
  return { type: 'snapshot-added', id: s.id, createdAt: s.createdAt, source: s.source, root: s.root!, parent: s.parent, files: s.files, bytes: s.bytes, ...(s.tags?.length ? { tags: s.tags } : {}) };
}
