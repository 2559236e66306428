/** RetentionPacer: when retention that runs itself is due (an injected "now"). */
import { expect } from 'chai';
import { AUTO_RETENTION, RetentionPacer } from '../src/retention/pacer.js';

const HOUR = 3_600_000;

describe('RetentionPacer (forget + prune after watched backups)', () => {
  it('runs after the first backup, then once per 24 backups or per day, whichever comes first', () => {
    const pacer = new RetentionPacer();
    const t0 = 1_700_000_000_000;
    expect(pacer.backupDone(t0)).to.equal(true);
    // Hourly backups: the 24th after the run is both the 24th backup and a day later.
    const runs: number[] = [];
    for (let i = 1; i <= 48; i++) if (pacer.backupDone(t0 + i * HOUR)) runs.push(i);
    expect(runs).to.deep.equal([24, 48]);
    // Every minute: 24 backups come long before a day.
    const busy = new RetentionPacer();
    const busyRuns: number[] = [];
    for (let i = 0; i < 60; i++) if (busy.backupDone(t0 + i * 60_000)) busyRuns.push(i);
    expect(busyRuns).to.deep.equal([0, 24, 48]);
    // Once a week: each backup is a day or more after the last run.
    const rare = new RetentionPacer();
    for (let i = 0; i < 4; i++) expect(rare.backupDone(t0 + i * 7 * 24 * HOUR)).to.equal(true);
    expect(AUTO_RETENTION.everyBackups).to.equal(24);
  });
});
