/**
 * The owner's lasting memory of hosts that lost or altered its data (a failed audit). Unlike
 * strikes, which are forgiven when a host honours us again and dropped when it owes us nothing,
 * this is never forgotten: such a host is not chosen for any shard again, across restarts.
 */
import type { Db } from '../storage/database.js';

export interface HostFailure {
  key: Uint8Array;
  failedAudits: number;
  firstFailedAt: number;
  lastFailedAt: number;
}

export class HostFailures {
  constructor(private readonly db: Db) {}

  /** `key` failed an audit at `now` (ms). */
  record(key: Uint8Array, now: number): void {
    this.db
      .prepare(
        `INSERT INTO host_failures (key, failed_audits, first_failed_at, last_failed_at) VALUES (?, 1, ?, ?)
         ON CONFLICT (key) DO UPDATE SET failed_audits = failed_audits + 1, last_failed_at = excluded.last_failed_at`,
      )
      .run(key, now, now);
  }

  /** Whether `key` ever failed one of our audits. */
  lostData(key: Uint8Array): boolean {
    return this.db.prepare('SELECT 1 FROM host_failures WHERE key = ?').get(key) !== undefined;
  }

  list(): HostFailure[] {
    const rows = this.db.prepare('SELECT * FROM host_failures ORDER BY first_failed_at').all() as { key: Buffer; failed_audits: number; first_failed_at: number; last_failed_at: number }[];
    return rows.map((r) => ({ key: new Uint8Array(r.key), failedAudits: r.failed_audits, firstFailedAt: r.first_failed_at, lastFailedAt: r.last_failed_at }));
  }
}
