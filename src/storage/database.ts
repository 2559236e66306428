/**
 * The peer's SQLite database (better-sqlite3): WAL mode, foreign keys, and numbered schema
 * migrations applied in one transaction each, tracked in `PRAGMA user_version`. Anyone can
 * open `peer.db` with the sqlite3 shell to inspect contracts and the ledger.
 */
import Database from 'better-sqlite3';
import { HOST_FAILURES_MIGRATION } from './migrations/host-failures.js';
import { RETENTION_STATE_MIGRATION } from './migrations/retention-state.js';

export type Db = Database.Database;

/** Schema migrations, in order. Never edit one that has shipped: append a new one. */
export const MIGRATIONS: readonly string[] = [
  // 1: contracts, counterparts and the ledger view.
  `
  CREATE TABLE contracts (
    id              BLOB PRIMARY KEY,           -- SHA-256 of the canonical terms
    role            TEXT NOT NULL CHECK (role IN ('owner', 'host')),
    counterpart     BLOB NOT NULL,              -- the other party's public key
    counterpart_address TEXT,                   -- host:port it was last reached at
    terms           BLOB NOT NULL,              -- canonical encoding (see src/contracts/contract.ts)
    owner_signature BLOB NOT NULL,
    host_signature  BLOB NOT NULL,
    shard_hash      BLOB NOT NULL,
    size            INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'active', 'cancelled', 'expired', 'released')),
    created_at      INTEGER NOT NULL,           -- Unix seconds, from the terms
    expires_at      INTEGER NOT NULL,           -- Unix seconds, from the terms
    reserved_until  INTEGER,                    -- ms: a pending contract's upload deadline
    updated_at      INTEGER NOT NULL            -- ms
  );
  CREATE INDEX contracts_by_counterpart ON contracts (counterpart, state);
  CREATE INDEX contracts_by_state ON contracts (state, reserved_until);
  CREATE INDEX contracts_by_shard ON contracts (shard_hash);

  CREATE TABLE counterparts (
    key             BLOB PRIMARY KEY,           -- public key
    last_address    TEXT,
    offered         INTEGER,                    -- storage it last said it offers
    strikes         INTEGER NOT NULL DEFAULT 0, -- refusals/failures since it last honoured us
    strike_since    INTEGER,                    -- ms of the first of those
    defaulter_since INTEGER,                    -- ms; set once, never cleared
    updated_at      INTEGER NOT NULL
  );

  -- What we keep for each counterpart, and what it keeps for us: live contracts only.
  CREATE VIEW ledger AS
  SELECT counterpart,
         SUM(CASE WHEN role = 'host'  THEN size ELSE 0 END) AS kept_for_them,
         SUM(CASE WHEN role = 'owner' THEN size ELSE 0 END) AS kept_by_them
  FROM contracts
  WHERE state IN ('pending', 'active')
  GROUP BY counterpart;
  `,
  // 2: the owner's backup index: shards it made, the chunks in them, snapshots, host health.
  `
  CREATE TABLE backup_shards (
    hash        BLOB PRIMARY KEY,               -- the shard ID (SHA-256 over size and Merkle root)
    size        INTEGER NOT NULL,
    merkle_root BLOB NOT NULL,
    replicas    INTEGER NOT NULL,               -- hosts wanted
    kind        TEXT NOT NULL CHECK (kind IN ('data', 'meta', 'catalog')), -- meta: snapshot + catalog; catalog: a catalog alone
    local_path  TEXT,                           -- our own copy, if kept
    created_at  INTEGER NOT NULL
  );
  CREATE TABLE chunks (
    id     BLOB PRIMARY KEY,                    -- HMAC of the plaintext
    shard  BLOB NOT NULL REFERENCES backup_shards (hash),
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL
  );
  CREATE TABLE snapshots (
    id          TEXT PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    source      TEXT NOT NULL,
    files       INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    meta_shard  BLOB NOT NULL,
    meta_offset INTEGER NOT NULL,
    meta_length INTEGER NOT NULL,
    meta_chunk  BLOB NOT NULL
  );
  CREATE TABLE host_health (
    contract          BLOB PRIMARY KEY,
    last_audit_at     INTEGER,
    unreachable_since INTEGER
  );
  `,
  // 3: hosts that failed an audit, remembered across restarts.
  HOST_FAILURES_MIGRATION,
  // 4: snapshots as trees (src/snapshot), the catalog as a chain of segments, the index by deltas.
  `
  CREATE TABLE snapshots_v3 (
    id          TEXT PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    source      TEXT NOT NULL,
    files       INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    root        BLOB,                           -- root tree ID; NULL: a first-format snapshot (not restorable)
    parent      TEXT                            -- the snapshot its files cache came from
  );
  INSERT INTO snapshots_v3 (id, created_at, source, files, bytes) SELECT id, created_at, source, files, bytes FROM snapshots;
  DROP TABLE snapshots;
  ALTER TABLE snapshots_v3 RENAME TO snapshots;
  CREATE INDEX snapshots_by_source ON snapshots (source, created_at);
  ALTER TABLE backup_shards ADD COLUMN cataloged INTEGER NOT NULL DEFAULT 0; -- 1: a catalog segment has its shard-added record
  ALTER TABLE backup_shards ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0;   -- 1: an index delta in the network holds its chunks
  CREATE TABLE catalog_contracts (id BLOB PRIMARY KEY); -- contracts the catalog in the network records as live
  CREATE TABLE index_pieces (                   -- every live index-delta piece, oldest first (compaction lists them)
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    id     BLOB NOT NULL,
    shard  BLOB NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL
  );
  CREATE TABLE catalog_head (                   -- the newest segment, as the root record names it
    one    INTEGER PRIMARY KEY CHECK (one = 1),
    seq    INTEGER NOT NULL,
    base   INTEGER NOT NULL,                    -- number of the chain's first segment
    shard  BLOB NOT NULL,
    id     BLOB NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL
  );
  `,
  // 5: snapshot tags (dbs backup --tag), a JSON list; NULL: none.
  `
  ALTER TABLE snapshots ADD COLUMN tags TEXT;
  `,
  // 6: contracts known only by ID (a recovered head shard's) and the auto-retention pace.
  RETENTION_STATE_MIGRATION,
  // 7: how long each backup took and the shard bytes it added (the web page's backups chart);
  // NULL for snapshots made before, or recovered from the network (the catalog does not carry them).
  `
  ALTER TABLE snapshots ADD COLUMN duration_ms INTEGER;
  ALTER TABLE snapshots ADD COLUMN added_bytes INTEGER;
  `,
];

export function openDatabase(file: string): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // FULL: an upload acknowledged to its owner must survive a power cut, not only a crash.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this program knows (${MIGRATIONS.length}); upgrade distributed-backup-system`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
