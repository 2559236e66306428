/**
 * Contracts this machine knows only by host and ID (schema migration 6): on a new machine, the
 * head shard's contracts, read from the root record. No catalog segment can record the
 * contracts of the shard it is written in, so recovery cannot adopt them in full; it places
 * that shard again under new contracts (engine.ts `recover`) and keeps the old ones here.
 * Prune cancels them (a signed cancel needs only the contract ID) once their shard is gone
 * from the index or kept by as many recorded contracts as it wants; until then they are
 * replicas like any other. A row goes when its host acknowledged the cancel.
 */
import type { Db } from '../storage/database.js';

export interface UnrecordedContract {
  id: Uint8Array;
  host: Uint8Array;
  shard: Uint8Array;
  /** ms, when recovery recorded it. */
  addedAt: number;
}

export class UnrecordedContracts {
  constructor(private readonly db: Db) {}

  add(contracts: readonly Omit<UnrecordedContract, 'addedAt'>[], now: number): void {
    const insert = this.db.prepare('INSERT OR IGNORE INTO unrecorded_contracts (id, host, shard, added_at) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const c of contracts) insert.run(c.id, c.host, c.shard, now);
    })();
  }

  list(): UnrecordedContract[] {
    const rows = this.db.prepare('SELECT id, host, shard, added_at FROM unrecorded_contracts ORDER BY added_at, id').all() as { id: Buffer; host: Buffer; shard: Buffer; added_at: number }[];
    return rows.map((r) => ({ id: new Uint8Array(r.id), host: new Uint8Array(r.host), shard: new Uint8Array(r.shard), addedAt: r.added_at }));
  }

  remove(id: Uint8Array): void {
    this.db.prepare('DELETE FROM unrecorded_contracts WHERE id = ?').run(id);
  }
}
