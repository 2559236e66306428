/**
 * Which of our shards are erasure-coded, and how (K of N), on this machine. A small table of
 * its own (created if missing, so it needs no schema migration shared with other work): the
 * network's copy of the same fact is in the piece contracts themselves (their signed piece
 * terms name shard, index, K and N, and the catalog records every contract), so a new machine
 * learns it from the adopted contracts (`schemeOf` falls back to them).
 */
import type { StoredContract } from '../contracts/store.js';
import type { ErasureScheme } from '../erasure/layout.js';
import type { Db } from '../storage/database.js';
import { toHex } from '../util/bytes.js';

export class PieceSchemes {
  constructor(private readonly db: Db) {
    db.exec('CREATE TABLE IF NOT EXISTS erasure_shards (hash BLOB PRIMARY KEY, k INTEGER NOT NULL, n INTEGER NOT NULL)');
  }

  record(hash: Uint8Array, scheme: ErasureScheme): void {
    this.db.prepare('INSERT OR REPLACE INTO erasure_shards (hash, k, n) VALUES (?, ?, ?)').run(hash, scheme.k, scheme.n);
  }

  /** The shard's scheme from this machine's record, else from any of `contracts` that is a piece of it; null: not erasure-coded. */
  schemeOf(hash: Uint8Array, contracts: readonly StoredContract[] = []): ErasureScheme | null {
    const row = this.db.prepare('SELECT k, n FROM erasure_shards WHERE hash = ?').get(hash) as { k: number; n: number } | undefined;
    if (row) return { k: row.k, n: row.n };
    const piece = piecesOf(contracts, hash)[0]?.contract.terms.piece;
    return piece ? { k: piece.k, n: piece.n } : null;
  }
}

/**
 * The shard a contract keeps part of: the coded shard for a piece contract (whose `shardHash` is
 * the piece's own ID), else the shard itself. Whatever asks "is this contract's shard still
 * wanted?" (prune's cancellations, a compacted catalog) must ask it of this, or every piece
 * contract looks orphaned.
 */
export function keptShard(terms: StoredContract['contract']['terms']): Uint8Array {
  return terms.piece?.shard ?? terms.shardHash;
}

/** The piece contracts among `contracts` that keep a piece of the shard `hash`. */
export function piecesOf(contracts: readonly StoredContract[], hash: Uint8Array): StoredContract[] {
  const key = toHex(hash);
  return contracts.filter((c) => c.contract.terms.piece && toHex(c.contract.terms.piece.shard) === key);
}
