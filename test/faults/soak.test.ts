/**
 * Soak (issue 19): peer processes for a simulated day (CI), two days (DBS_FAULTS=medium) or a
 * week (DBS_FAULTS=long), clocks moved together, backups every simulated hour, hosts killed and
 * restarted, audits and repair: nothing may grow beyond what the data needs. The scenario is
 * test/helpers/soak.ts. How to run each form (and what each costs): docs/security.md, "Soak".
 */
import { expect } from 'chai';
import { stopAllProcesses } from '../helpers/peer-process.js';
import { LONG, MiB } from '../helpers/peers.js';
import { runSoak, SOAK_FAST, SOAK_LONG, SOAK_MEDIUM, type Sample } from '../helpers/soak.js';

const MEDIUM = process.env['DBS_FAULTS'] === 'medium';
const SIZE = LONG ? SOAK_LONG : MEDIUM ? SOAK_MEDIUM : SOAK_FAST;
const log = process.env.DBS_FAULTS_VERBOSE ? (line: string) => console.log(`      ${line}`) : () => {};

describe(`soak: ${SIZE.peers} peer processes for ${SIZE.hours} simulated hours, hourly backups, churn and repair`, function () {
  this.timeout(LONG ? 3_600_000 : MEDIUM ? 1_800_000 : 300_000);
  after(() => stopAllProcesses());

  it('memory, descriptors, database size and contracts stay within what the data needs', async () => {
    const r = await runSoak(SIZE, log);
    if (process.env.DBS_FAULTS_VERBOSE) console.log(JSON.stringify(summary(r.samples)));
    expect(r.backups).to.equal(SIZE.hours * SIZE.owners);
    expect(r.kills).to.be.at.least(Math.floor((SIZE.hours - 1) / SIZE.churnEveryHours));
    const end = r.samples.filter((s) => s.hour === SIZE.hours);
    expect(end).to.have.length(SIZE.peers);
    for (const last of end) {
      const mine = r.samples.filter((s) => s.name === last.name);
      // Warm-up: the first sample after hour 2 (code loaded, worker threads started, routing table full).
      const warm = mine.find((s) => s.hour >= 2)!;
      // Contracts: an owner holds exactly the replicas its shards want, no more (spares and
      // replaced catalogs cancelled, repaired replicas instead of lost ones, not beside them).
      if (last.indexShards > 0) expect(last.ownerLive, `${last.name}: live owner contracts`).to.equal(last.wantedReplicas);
      // A host keeps no shard file without a live contract for it.
      expect(last.shardFiles, `${last.name}: shard files`).to.be.at.most(last.hostLive);
      // Memory: the index and contracts live in SQLite, every in-memory table is bounded, so
      // the heap after a full collection stays flat: at most 8 MiB above warm-up (16 MiB past a
      // simulated day). RSS also holds SQLite's page cache and freed-but-kept allocator pages: 48 MiB.
      expect(last.heapUsed - warm.heapUsed, `${last.name}: heap growth`).to.be.at.most((SIZE.hours > 24 ? 16 : 8) * MiB);
      expect(last.rss - warm.rss, `${last.name}: RSS growth`).to.be.at.most(48 * MiB);
      // Descriptors: sockets and files are closed after each use: no more than at warm-up, plus a few in flight.
      expect(last.fds - warm.fds, `${last.name}: open descriptors`).to.be.at.most(4);
      // Database: the WAL is checkpointed every 1000 pages (4 MiB) and reused, so it stays under
      // that plus the largest transaction; the main file grows with the rows the data needs:
      // at most 4 KiB per contract row and 16 KiB per index shard (its chunks, snapshots) over 512 KiB.
      expect(last.walBytes, `${last.name}: WAL bytes`).to.be.at.most(5 * MiB);
      expect(last.dbBytes, `${last.name}: database bytes`).to.be.at.most(512 * 1024 + 4096 * last.contractRows + 16 * 1024 * last.indexShards);
    }
    // Both sides count the same live contracts: a host that was away when its owner cancelled
    // is told again once back (contracts/unsent-cancels.ts; before: 214 on hosts against 204).
    const sum = (f: (s: Sample) => number) => end.reduce((n, s) => n + f(s), 0);
    expect(sum((s) => s.hostLive)).to.equal(sum((s) => s.ownerLive));
  });
});

/** Per peer: the first sample after warm-up, the middle one and the last one. */
function summary(samples: Sample[]) {
  const names = [...new Set(samples.map((s) => s.name))];
  return names.map((name) => {
    const mine = samples.filter((s) => s.name === name);
    const pick = (s: Sample) => ({ h: s.hour, rss: +(s.rss / MiB).toFixed(1), heap: +(s.heapUsed / MiB).toFixed(1), ext: +(s.external / MiB).toFixed(1), fds: s.fds, db: +(s.dbBytes / 1024).toFixed(0), wal: +(s.walBytes / 1024).toFixed(0), own: s.ownerLive, host: s.hostLive, rows: s.contractRows, files: s.shardFiles, idx: s.indexShards, want: s.wantedReplicas });
    return { name, first: pick(mine[Math.min(2, mine.length - 1)]!), mid: pick(mine[Math.floor(mine.length / 2)]!), last: pick(mine[mine.length - 1]!) };
  });
}
