/**
 * When retention that runs itself (`dbs watch` / `dbs start --watch` with `--keep-*`) forgets
 * and prunes: after a backup, at most once per AUTO_RETENTION.everyBackups backups or per
 * AUTO_RETENTION.everyMs, whichever comes first, and after the first backup of a run (a peer
 * restarted after a long pause catches up at once). Pure: "now" is handed in.
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

export class RetentionPacer {
  private lastRunAt: number | null = null;
  private backups = 0;

  constructor(private readonly pace: { everyBackups: number; everyMs: number } = AUTO_RETENTION) {}

  /** A backup finished at `now`: true if retention is due now (and counted as run). */
  backupDone(now: number): boolean {
    this.backups++;
    const due = this.lastRunAt === null || this.backups >= this.pace.everyBackups || now - this.lastRunAt >= this.pace.everyMs;
    if (due) {
      this.lastRunAt = now;
      this.backups = 0;
    }
    return due;
  }
}
