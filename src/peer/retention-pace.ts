/**
 * The retention pacer's state in the peer's database (table `retention_pace`, schema migration
 * 6): when retention that runs itself last ran and how many backups since (src/retention/pacer.ts).
 */
import type { PaceState, PaceStore } from '../retention/pacer.js';
import type { Db } from '../storage/database.js';

export class SqlitePaceStore implements PaceStore {
  constructor(private readonly db: Db) {}

  load(): PaceState | null {
    const row = this.db.prepare('SELECT last_run_at, backups FROM retention_pace WHERE one = 1').get() as { last_run_at: number | null; backups: number } | undefined;
    return row ? { lastRunAt: row.last_run_at, backups: row.backups } : null;
  }

  save(state: PaceState): void {
    this.db
      .prepare('INSERT INTO retention_pace (one, last_run_at, backups) VALUES (1, ?, ?) ON CONFLICT (one) DO UPDATE SET last_run_at = excluded.last_run_at, backups = excluded.backups')
      .run(state.lastRunAt, state.backups);
  }
}
