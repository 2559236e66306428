/** RetentionPacer: when retention that runs itself is due (an injected "now"). */
import { expect } from 'chai';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { AUTO_RETENTION, RetentionPacer } from '../src/retention/pacer.js';
import { SqlitePaceStore } from '../src/peer/retention-pace.js';
import { openDatabase } from '../src/storage/database.js';
import { tempDir } from './helpers/temp.js';

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

describe('RetentionPacer across restarts (state in the peer database, migration 6)', () => {
  it('a restarted daemon keeps the pace: no run right after the restart, the counted backups still count', () => {
    const file = path.join(tempDir('dbs-pace-'), 'peer.db');
    const t0 = 1_700_000_000_000;
    let db = openDatabase(file);
    let pacer = new RetentionPacer(AUTO_RETENTION, new SqlitePaceStore(db));
    expect(pacer.backupDone(t0)).to.equal(true);
    for (let i = 1; i <= 10; i++) expect(pacer.backupDone(t0 + i * HOUR)).to.equal(false);
    db.close();
    // Restarted: an in-memory pacer would run at once here; this one has 10 of 24 backups counted.
    db = openDatabase(file);
    pacer = new RetentionPacer(AUTO_RETENTION, new SqlitePaceStore(db));
    const runs: number[] = [];
    for (let i = 11; i <= 30; i++) if (pacer.backupDone(t0 + i * HOUR)) runs.push(i);
    expect(runs).to.deep.equal([24]);
    db.close();
    // Restarted after a week away: a day has passed since the last run, so the first backup runs it.
    db = openDatabase(file);
    pacer = new RetentionPacer(AUTO_RETENTION, new SqlitePaceStore(db));
    expect(pacer.backupDone(t0 + 7 * 24 * HOUR)).to.equal(true);
    expect(new SqlitePaceStore(db).load()).to.deep.equal({ lastRunAt: t0 + 7 * 24 * HOUR, backups: 0 });
    db.close();
    rmSync(path.dirname(file), { recursive: true, force: true });
  });
});
