/**
 * The owner's backup index in SQLite (schema migrations 2 and 4): which shards it made and wants
 * kept, which chunk lives where (for deduplication), its snapshots, and how each host has
 * answered audits.
 */
import type { Db } from '../storage/database.js';
import type { ChunkLocation } from './formats.js';

export interface ShardRow {
  hash: Uint8Array;
  size: number;
  merkleRoot: Uint8Array;
  replicas: number;
  kind: 'data' | 'meta' | 'catalog';
  localPath: string | null;
  createdAt: number;
}

/** A snapshot as the database keeps it; `root` null: written in the first format, not restorable. */
export interface SnapshotRow {
  id: string;
  createdAt: number;
  source: string;
  files: number;
  bytes: number;
  root: Uint8Array | null;
  parent: string | null;
  /** `dbs backup --tag`; absent: none. */
  tags?: string[];
  /** ms the backup took, and the shard bytes it uploaded (one copy each); local figures, absent on a recovered machine. */
  durationMs?: number;
  addedBytes?: number;
}

interface SnapshotRaw {
  id: string;
  created_at: number;
  source: string;
  files: number;
  bytes: number;
  root: Buffer | null;
  parent: string | null;
  tags: string | null;
  duration_ms: number | null;
  added_bytes: number | null;
}

interface ShardRaw {
  hash: Buffer;
  size: number;
  merkle_root: Buffer;
  replicas: number;
  kind: 'data' | 'meta' | 'catalog';
  local_path: string | null;
  created_at: number;
}

export class BackupIndex {
  /** Asked once per chunk of every backed-up file: compiled once. */
  private readonly chunkQuery;

  constructor(private readonly db: Db) {
    this.chunkQuery = db.prepare('SELECT shard, offset, length FROM chunks WHERE id = ?');
  }

  chunk(id: Uint8Array): ChunkLocation | undefined {
    const row = this.chunkQuery.get(id) as { shard: Buffer; offset: number; length: number } | undefined;
    return row ? { shard: new Uint8Array(row.shard), offset: row.offset, length: row.length } : undefined;
  }

  /** Runs `work` in one transaction (nested calls become savepoints): many writes, one commit. */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  /** Records a placed shard and the chunks in it, in one transaction. */
  addShard(shard: ShardRow, chunks: { id: Uint8Array; offset: number; length: number }[]): void {
    this.db.transaction(() => {
      this.db
        .prepare('INSERT OR REPLACE INTO backup_shards (hash, size, merkle_root, replicas, kind, local_path, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(shard.hash, shard.size, shard.merkleRoot, shard.replicas, shard.kind, shard.localPath, shard.createdAt);
      const insert = this.db.prepare('INSERT OR IGNORE INTO chunks (id, shard, offset, length) VALUES (?, ?, ?, ?)');
      for (const c of chunks) insert.run(c.id, shard.hash, c.offset, c.length);
    })();
  }

  /** Forgets a shard we no longer need, with the chunk entries that point into it. */
  removeShard(hash: Uint8Array): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM chunks WHERE shard = ?').run(hash);
      this.db.prepare('DELETE FROM backup_shards WHERE hash = ?').run(hash);
    })();
  }

  shard(hash: Uint8Array): ShardRow | undefined {
    const row = this.db.prepare('SELECT * FROM backup_shards WHERE hash = ?').get(hash) as ShardRaw | undefined;
    return row ? toShard(row) : undefined;
  }

  shards(): ShardRow[] {
    return (this.db.prepare('SELECT * FROM backup_shards ORDER BY created_at, hash').all() as ShardRaw[]).map(toShard);
  }

  /** Records a finished snapshot (its root tree, and the parent its files cache came from). */
  addSnapshot(s: SnapshotRow): void {
    this.db
      .prepare('INSERT OR REPLACE INTO snapshots (id, created_at, source, files, bytes, root, parent, tags, duration_ms, added_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(s.id, s.createdAt, s.source, s.files, s.bytes, s.root, s.parent, s.tags?.length ? JSON.stringify(s.tags) : null, s.durationMs ?? null, s.addedBytes ?? null);
  }

  /** Forgotten snapshots leave the list (their blobs stay until prune). */
  removeSnapshots(ids: readonly string[]): void {
    const remove = this.db.prepare('DELETE FROM snapshots WHERE id = ?');
    this.db.transaction(() => {
      for (const id of ids) remove.run(id);
    })();
  }

  /** Snapshots, newest first. */
  snapshots(): SnapshotRow[] {
    return (this.db.prepare('SELECT * FROM snapshots ORDER BY created_at DESC, id DESC').all() as SnapshotRaw[]).map(toSnapshot);
  }

  /** The newest restorable snapshot of `source`: the next backup's parent (its files cache). */
  latestOf(source: string): SnapshotRow | undefined {
    const row = this.db.prepare('SELECT * FROM snapshots WHERE source = ? AND root IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT 1').get(source) as SnapshotRaw | undefined;
    return row ? toSnapshot(row) : undefined;
  }

  /** Upserts index entries in one transaction (a rebuilt delta piece: a later entry wins). */
  putChunks(entries: Iterable<{ chunk: Uint8Array; shard: Uint8Array; offset: number; length: number }>): void {
    const upsert = this.db.prepare('INSERT OR REPLACE INTO chunks (id, shard, offset, length) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const e of entries) upsert.run(e.chunk, e.shard, e.offset, e.length);
    })();
  }

  /**
   * The index entries of one shard in offset order, a page at a time (an index delta is
   * written from them). No statement stays open across a yield: the peer shares this
   * connection, and better-sqlite3 refuses other statements while an iterator is open.
   */
  *chunksIn(shard: Uint8Array, page = 4096): Generator<{ chunk: Uint8Array; shard: Uint8Array; offset: number; length: number }> {
    const query = this.db.prepare('SELECT id, offset, length FROM chunks WHERE shard = ? AND offset > ? ORDER BY offset LIMIT ?');
    for (let after = -1; ; ) {
      const rows = query.all(shard, after, page) as { id: Buffer; offset: number; length: number }[];
      for (const r of rows) yield { chunk: new Uint8Array(r.id), shard, offset: r.offset, length: r.length };
      if (rows.length < page) return;
      after = rows[rows.length - 1]!.offset;
    }
  }

  /**
   * Shards whose chunks no index delta in the network holds yet, oldest first: those of this
   * backup, and any placed by a backup that did not finish (its chunks are deduplicated
   * against, so the next delta must say where they are).
   */
  unindexedShards(): Uint8Array[] {
    return (this.db.prepare('SELECT hash FROM backup_shards WHERE indexed = 0 ORDER BY created_at, hash').all() as { hash: Buffer }[]).map((r) => new Uint8Array(r.hash));
  }

  /** An index delta in the network now holds these shards' chunks. */
  markIndexed(shards: Iterable<Uint8Array>): void {
    const mark = this.db.prepare('UPDATE backup_shards SET indexed = 1 WHERE hash = ?');
    this.db.transaction(() => {
      for (const s of shards) mark.run(s);
    })();
  }

  /** How many chunks and blobs are indexed, and their sealed bytes (each once: deduplicated). */
  chunkTotals(): { count: number; bytes: number } {
    const r = this.db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(length), 0) AS b FROM chunks').get() as { n: number; b: number };
    return { count: r.n, bytes: r.b };
  }

  /** Bytes of the largest sealed chunk or blob indexed (a restore sizes its crypto slots by it). */
  largestChunk(): number {
    return (this.db.prepare('SELECT MAX(length) AS n FROM chunks').get() as { n: number | null }).n ?? 0;
  }

  /** Our own copy of a shard is at `file` (null: none). */
  setLocalPath(hash: Uint8Array, file: string | null): void {
    this.db.prepare('UPDATE backup_shards SET local_path = ? WHERE hash = ?').run(file, hash);
  }

  health(contract: Uint8Array): { lastAuditAt: number | null; unreachableSince: number | null } {
    const row = this.db.prepare('SELECT last_audit_at, unreachable_since FROM host_health WHERE contract = ?').get(contract) as
      | { last_audit_at: number | null; unreachable_since: number | null }
      | undefined;
    return { lastAuditAt: row?.last_audit_at ?? null, unreachableSince: row?.unreachable_since ?? null };
  }

  /** Every contract's audit record, the cancelled ones' too (the web page's hosts view). */
  allHealth(): Array<{ contract: Uint8Array; lastAuditAt: number | null; unreachableSince: number | null }> {
    const rows = this.db.prepare('SELECT contract, last_audit_at, unreachable_since FROM host_health').all() as Array<{ contract: Buffer; last_audit_at: number | null; unreachable_since: number | null }>;
    return rows.map((r) => ({ contract: new Uint8Array(r.contract), lastAuditAt: r.last_audit_at, unreachableSince: r.unreachable_since }));
  }

  setHealth(contract: Uint8Array, lastAuditAt: number | null, unreachableSince: number | null): void {
    this.db
      .prepare(
        `INSERT INTO host_health (contract, last_audit_at, unreachable_since) VALUES (?, ?, ?)
         ON CONFLICT (contract) DO UPDATE SET last_audit_at = excluded.last_audit_at, unreachable_since = excluded.unreachable_since`,
      )
      .run(contract, lastAuditAt, unreachableSince);
  }
}

function toShard(r: ShardRaw): ShardRow {
  return {
    hash: new Uint8Array(r.hash),
    size: r.size,
    merkleRoot: new Uint8Array(r.merkle_root),
    replicas: r.replicas,
    kind: r.kind,
    localPath: r.local_path,
    createdAt: r.created_at,
  };
}

function toSnapshot(r: SnapshotRaw): SnapshotRow {
  const tags = r.tags ? (JSON.parse(r.tags) as string[]) : [];
  return { id: r.id, createdAt: r.created_at, source: r.source, files: r.files, bytes: r.bytes, root: r.root ? new Uint8Array(r.root) : null, parent: r.parent, ...(tags.length ? { tags } : {}), ...(r.duration_ms !== null ? { durationMs: r.duration_ms } : {}), ...(r.added_bytes !== null ? { addedBytes: r.added_bytes } : {}) };
}
