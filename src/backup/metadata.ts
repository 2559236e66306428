/**
 * What a backup writes besides file data: the snapshot object in a shard of its own, then the
 * catalog (every snapshot, every shard with its contracts) in a small catalog shard, and the
 * signed root record that names the catalog shard. Older catalog shards are retired.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { Clock } from '../util/clock.js';
import { type BackupKeys, chunkId, open, sealParts } from './crypto.js';
import { type BlobRef, type Catalog, encodeCatalog, encodeRootRecord, encodeSnapshot, type SnapshotObject } from './formats.js';
import type { BackupIndex } from './index-db.js';
import type { ShardPlacement } from './placement.js';
import type { OwnerContracts, RootRecords } from './ports.js';
import { contractsFor, type ReplicaLocator } from './replica-locator.js';
import { ShardWriter } from './shard-writer.js';

export interface MetadataDeps {
  keys: BackupKeys;
  index: BackupIndex;
  outbox: string;
  placement: ShardPlacement;
  locator: ReplicaLocator;
  contracts: Pick<OwnerContracts, 'live' | 'cancel'>;
  roots: RootRecords;
  clock: Clock;
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
   * Writes the snapshot object into a meta shard of its own, places it, records the snapshot,
   * and publishes the catalog that now lists it. Returns how many replicas it is short.
   */
  async writeSnapshot(snapshot: SnapshotObject, totals: { files: number; bytes: number }, replicas: number): Promise<number> {
    const meta = new ShardWriter(this.deps.outbox);
    const snapshotBlob = await this.addBlob(meta, encodeSnapshot(snapshot));
    const placed = await this.deps.placement.placeNew(meta, replicas, 'meta', await meta.finish());
    const { id, createdAt, source } = snapshot;
    this.deps.index.addSnapshot({ id, createdAt, source, ...totals, meta: { ...snapshotBlob, shard: placed.hash } });
    return replicas - placed.contracts + (await this.publishCatalog(replicas));
  }

  /** Hosts changed: the catalog must be published again (see publishCatalogIfStale). */
  markStale(): void {
    this.catalogStale = true;
  }

  /** Publishes the catalog if hosts changed since it last was; on failure it stays stale and the next pass tries again. */
  async publishCatalogIfStale(): Promise<void> {
    if (!this.catalogStale) return;
    await this.publishCatalog().then(
      () => (this.catalogStale = false),
      // Not dropped: the flag stays set, and every maintenance pass tries again.
      () => {},
    );
  }

  /**
   * Writes the current catalog into a small shard of its own, points the root record at it
   * and retires older catalog shards. Returns how many replicas it is short of `replicas`.
   */
  async publishCatalog(replicas = Math.max(1, ...this.deps.index.shards().map((s) => s.replicas))): Promise<number> {
    if (this.deps.index.snapshots().length === 0) return 0;
    const writer = new ShardWriter(this.deps.outbox);
    const catalogBlob = await this.addBlob(writer, encodeCatalog(this.catalog()));
    const placed = await this.deps.placement.placeNew(writer, replicas, 'catalog', await writer.finish());
    await this.publishRoot(placed.hash, catalogBlob);
    await this.retireCatalogShards(placed.hash);
    return replicas - placed.contracts;
  }

  /** Every snapshot, and every shard but catalog shards with the contracts that keep it. */
  catalog(): Catalog {
    const owner = this.deps.contracts.live();
    return {
      snapshots: this.deps.index.snapshots(),
      // Catalog shards are not listed: only the newest matters, and the root record names it.
      shards: this.deps.index.shards().filter((s) => s.kind !== 'catalog').map((s) => ({
        hash: s.hash,
        size: s.size,
        merkleRoot: s.merkleRoot,
        replicas: s.replicas,
        kind: s.kind,
        contracts: contractsFor(owner, s.hash).map((c) => ({ contract: c.contract, address: c.counterpartAddress })),
      })),
    };
  }

  private async addBlob(writer: ShardWriter, plain: Uint8Array): Promise<BlobRef> {
    const id = chunkId(this.deps.keys, plain);
    const packed = await writer.add(id, sealParts(this.deps.keys, id, plain));
    return { shard: null, offset: packed.offset, length: packed.length, chunk: id };
  }

  private async publishRoot(catalogShard: Uint8Array, catalog: BlobRef): Promise<void> {
    const { index, locator, roots, clock } = this.deps;
    const shard = index.shard(catalogShard)!;
    const hosts = locator.liveContracts(catalogShard).map((c) => ({ host: c.counterpart, contract: c.contract.id }));
    const record = encodeRootRecord({ shard: catalogShard, size: shard.size, merkleRoot: shard.merkleRoot, catalog, hosts, createdAt: clock.now() });
    const current = await roots.read();
    // Later than any record already out there, even one written under a clock that ran ahead.
    const seq = Math.max(clock.now(), (current?.seq ?? -1) + 1);
    await roots.publish(record, seq);
  }

  /** Catalog-only shards older than the one the root record now names are no longer needed. */
  private async retireCatalogShards(current: Uint8Array): Promise<void> {
    for (const shard of this.deps.index.shards()) {
      if (shard.kind !== 'catalog' || Buffer.from(shard.hash).equals(current)) continue;
      for (const c of this.deps.locator.liveContracts(shard.hash)) await this.deps.contracts.cancel(c);
      this.deps.index.removeShard(shard.hash);
      if (shard.localPath) await fs.rm(shard.localPath, { force: true });
    }
  }
}

/** Opens the sealed blob (snapshot object or catalog) at `ref` in a shard file. */
export async function readBlob(keys: BackupKeys, file: string, ref: BlobRef): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(ref.length);
    const { bytesRead } = await handle.read(buf, 0, ref.length, ref.offset);
    if (bytesRead !== ref.length) throw new Error('shard is shorter than its index says');
    return open(keys, ref.chunk, buf);
  } finally {
    await handle.close();
  }
}
