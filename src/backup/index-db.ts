/**
 * The owner's backup index in SQLite (schema migration 2): which shards it made and wants
 * kept, which chunk lives where (for deduplication), its snapshots, and how each host has
 * answered audits.
 */
import type { Db } from '../storage/database.js';
import type { ChunkLocation, SnapshotSummary } from './formats.js';

export interface ShardRow {
  hash: Uint8Array;
  size: number;
  merkleRoot: Uint8Array;
  replicas: number;
  kind: 'data' | 'meta' | 'catalog';
  localPath: string | null;
  createdAt: number;
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

  addSnapshot(s: SnapshotSummary & { meta: { shard: Uint8Array } }): void {
    this.db
      .prepare('INSERT OR REPLACE INTO snapshots (id, created_at, source, files, bytes, meta_shard, meta_offset, meta_length, meta_chunk) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(s.id, s.createdAt, s.source, s.files, s.bytes, s.meta.shard, s.meta.offset, s.meta.length, s.meta.chunk);
  }

  /** Snapshots, newest first. */
  snapshots(): SnapshotSummary[] {
    const rows = this.db.prepare('SELECT * FROM snapshots ORDER BY created_at DESC, id DESC').all() as {
      id: string;
      created_at: number;
      source: string;
      files: number;
      bytes: number;
      meta_shard: Buffer;
      meta_offset: number;
      meta_length: number;
      meta_chunk: Buffer;
    }[];
    return rows.map((r) => ({
      id: r.id,
      createdAt: r.created_at,
      source: r.source,
      files: r.files,
      bytes: r.bytes,
      meta: { shard: new Uint8Array(r.meta_shard), offset: r.meta_offset, length: r.meta_length, chunk: new Uint8Array(r.meta_chunk) },
    }));
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
