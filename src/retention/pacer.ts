/**
 * When retention that runs itself (`dbs watch` / `dbs start --watch` with `--keep-*`) forgets
 * and prunes: after a backup, at most once per AUTO_RETENTION.everyBackups backups or per
 * AUTO_RETENTION.everyMs, whichever comes first, and after the first backup ever. Its state
 * (when it last ran, backups since) goes through a `PaceStore` (the peer's database:
 * src/peer/retention-pace.ts), so a restarted daemon keeps the pace: it neither prunes after
 * every restart nor forgets the backups it counted; one restarted after a long pause is past
 * `everyMs` and catches up at once. Pure: "now" is handed in, the store is a port.
 */

export const AUTO_RETENTION = {
  /**
   * Backups between runs. A watched folder that changes all day is backed up every few
   * minutes; prune reads every kept snapshot's trees and rewrites the index, so it must not
   * follow every backup. 24: a day of hourly backups.
   */
  everyBackups: 24,
  /** ms between runs at most: daily, the finest calendar rule most policies use (--keep-daily). */
  everyMs: 24 * 60 * 60 * 1000,
} as const;

/** What the pacer remembers. */
export interface PaceState {
  /** ms; null: never ran. */
  lastRunAt: number | null;
  /** Backups since that run. */
  backups: number;
}

/** Where the pacer keeps its state across restarts. */
export interface PaceStore {
  load(): PaceState | null;
  save(state: PaceState): void;
}

export class RetentionPacer {
  private state: PaceState;

  constructor(
    private readonly pace: { everyBackups: number; everyMs: number } = AUTO_RETENTION,
    private readonly store: PaceStore | null = null,
  ) {
    this.state = store?.load() ?? { lastRunAt: null, backups: 0 };
  }

  /** A backup finished at `now`: true if retention is due now (and counted as run). */
  backupDone(now: number): boolean {
    const backups = this.state.backups + 1;
    const { lastRunAt } = this.state;
    const due = lastRunAt === null || backups >= this.pace.everyBackups || now - lastRunAt >= this.pace.everyMs;
    this.state = due ? { lastRunAt: now, backups: 0 } : { lastRunAt, backups };
    this.store?.save(this.state);
    return due;
  }
}
