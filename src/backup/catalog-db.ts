/**
 * The owner's side of the catalog chain in SQLite (schema migration 4): the head segment the
 * root record names, which shards and contracts a segment already records (so the next one
 * holds only what changed since), and every live index-delta piece (what compaction lists).
 */
import type { BlobLocation, CatalogRecord, ResolvedLocation } from '../snapshot/catalog-records.js';
import type { Db } from '../storage/database.js';
import { encodeTerms } from '../contracts/contract.js';
import type { StoredContract } from '../contracts/store.js';
import { toHex } from '../util/bytes.js';
import type { ShardRow } from './index-db.js';

/** The newest segment: its number, the chain's base number, and where it is. */
export interface StoredHead {
  seq: number;
  base: number;
  location: ResolvedLocation;
}

export class CatalogDb {
  constructor(private readonly db: Db) {}

  head(): StoredHead | null {
    const r = this.db.prepare('SELECT * FROM catalog_head WHERE one = 1').get() as { seq: number; base: number; shard: Buffer; id: Buffer; offset: number; length: number } | undefined;
    return r ? { seq: r.seq, base: r.base, location: { id: new Uint8Array(r.id), shard: new Uint8Array(r.shard), offset: r.offset, length: r.length } } : null;
  }

  setHead(head: StoredHead): void {
    const l = head.location;
    this.db.prepare('INSERT OR REPLACE INTO catalog_head (one, seq, base, shard, id, offset, length) VALUES (1, ?, ?, ?, ?, ?, ?)').run(head.seq, head.base, l.shard, l.id, l.offset, l.length);
  }

  /**
   * What the next segment must say: shards not yet recorded (but `except`, the shard the
   * segment goes into: its hash is not known while it is written; the segment after records
   * it), live contracts not yet recorded, and recorded contracts no longer live.
   */
  pendingRecords(shards: ShardRow[], live: StoredContract[], except: Uint8Array | null, now: number): CatalogRecord[] {
    const skip = except ? toHex(except) : null;
    const cataloged = new Set((this.db.prepare('SELECT hash FROM backup_shards WHERE cataloged = 1').all() as { hash: Buffer }[]).map((r) => toHex(r.hash)));
    const records: CatalogRecord[] = [];
    for (const s of shards) {
      if (cataloged.has(toHex(s.hash)) || toHex(s.hash) === skip) continue;
      records.push({ type: 'shard-added', hash: s.hash, size: s.size, merkleRoot: s.merkleRoot, replicas: s.replicas, kind: s.kind });
    }
    const recorded = this.recordedContracts();
    const liveIds = new Set<string>();
    for (const c of live) {
      const id = toHex(c.contract.id);
      liveIds.add(id);
      if (recorded.has(id) || toHex(c.contract.terms.shardHash) === skip) continue;
      records.push(contractAdded(c));
    }
    for (const [id, raw] of recorded) if (!liveIds.has(id)) records.push({ type: 'contract-ended', id: raw, at: now });
    return records;
  }

  /** The records of a segment now in the network: remembered, so the next segment leaves them out. */
  recorded(records: readonly CatalogRecord[], replacesAll = false): void {
    const shard = this.db.prepare('UPDATE backup_shards SET cataloged = 1 WHERE hash = ?');
    const add = this.db.prepare('INSERT OR IGNORE INTO catalog_contracts (id) VALUES (?)');
    const end = this.db.prepare('DELETE FROM catalog_contracts WHERE id = ?');
    this.db.transaction(() => {
      // A compacted chain lists every live contract: what an older segment said no longer counts.
      if (replacesAll) this.db.prepare('DELETE FROM catalog_contracts').run();
      for (const r of records) {
        if (r.type === 'shard-added') shard.run(r.hash);
        else if (r.type === 'contract-added') add.run(r.id);
        else if (r.type === 'contract-ended') end.run(r.id);
      }
    })();
  }

  /** Every live index piece, oldest first. */
  pieces(): ResolvedLocation[] {
    return (this.db.prepare('SELECT id, shard, offset, length FROM index_pieces ORDER BY seq').all() as { id: Buffer; shard: Buffer; offset: number; length: number }[]).map((r) => ({ id: new Uint8Array(r.id), shard: new Uint8Array(r.shard), offset: r.offset, length: r.length }));
  }

  addPieces(pieces: readonly BlobLocation[], shard: Uint8Array, replacesAll = false): void {
    const insert = this.db.prepare('INSERT INTO index_pieces (id, shard, offset, length) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      if (replacesAll) this.db.prepare('DELETE FROM index_pieces').run();
      for (const p of pieces) insert.run(p.id, p.shard ?? shard, p.offset, p.length);
    })();
  }

  private recordedContracts(): Map<string, Uint8Array> {
    return new Map((this.db.prepare('SELECT id FROM catalog_contracts').all() as { id: Buffer }[]).map((r) => [toHex(r.id), new Uint8Array(r.id)]));
  }
}

/** The catalog record of one of our contracts (canonical terms and both signatures). */
export function contractAdded(c: StoredContract): CatalogRecord {
  return { type: 'contract-added', id: c.contract.id, shard: c.contract.terms.shardHash, terms: encodeTerms(c.contract.terms), ownerSignature: c.contract.ownerSignature, hostSignature: c.contract.hostSignature ?? null, address: c.counterpartAddress };
}
