/**
 * The reference meaning of catalog records: an in-memory catalog that applies them in order
 * and answers what compaction and rebuilds need. The SQLite sink must agree with it (tests run
 * against this one); it is also fine for small tools. Memory grows with the live catalog, so
 * the pipeline uses the database instead.
 */
import { toHex } from '../util/bytes.js';
import type { BlobLocation, CatalogRecord } from './catalog-records.js';
import type { CatalogSink, LiveCatalog } from './catalog-delta.js';

type Of<T extends CatalogRecord['type']> = Extract<CatalogRecord, { type: T }>;

export class MemoryCatalog implements CatalogSink, LiveCatalog {
  private readonly snapshotMap = new Map<string, Of<'snapshot-added'>>();
  private readonly shardMap = new Map<string, Of<'shard-added'>>();
  private readonly contractMap = new Map<string, Of<'contract-added'>>();
  private pieces: BlobLocation[] = [];

  apply(r: CatalogRecord): void {
    switch (r.type) {
      case 'snapshot-added':
        this.snapshotMap.set(r.id, r);
        break;
      case 'snapshot-forgotten':
        this.snapshotMap.delete(r.id);
        break;
      case 'shard-added':
        this.shardMap.set(toHex(r.hash), r);
        break;
      case 'shard-removed':
        // Its contracts go with it: nobody needs to keep a shard we dropped.
        this.shardMap.delete(toHex(r.hash));
        for (const [id, c] of this.contractMap) if (toHex(c.shard) === toHex(r.hash)) this.contractMap.delete(id);
        break;
      case 'contract-added':
        this.contractMap.set(toHex(r.id), r);
        break;
      case 'contract-ended':
        this.contractMap.delete(toHex(r.id));
        break;
      case 'index-added':
        this.pieces = r.replacesAll ? [...r.pieces] : [...this.pieces, ...r.pieces];
        break;
    }
  }

  /** Live snapshots, oldest first. */
  snapshots(): Of<'snapshot-added'>[] {
    return [...this.snapshotMap.values()].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  }

  shards(): Of<'shard-added'>[] {
    return [...this.shardMap.values()];
  }

  contracts(): Of<'contract-added'>[] {
    return [...this.contractMap.values()];
  }

  /** Index pieces to replay into the chunk index, in order (since the last compacted index). */
  indexPieces(): BlobLocation[] {
    return [...this.pieces];
  }
}
