/**
 * Re-replication: every shard with fewer lasting replicas than wanted gets new hosts, placed
 * from our local copy or from a copy fetched from a surviving replica.
 */
import { promises as fs } from 'node:fs';
import PQueue from 'p-queue';
import type { StoredContract } from '../contracts/store.js';
import { isLasting } from './audit-policy.js';
import type { BackupIndex, ShardRow } from './index-db.js';
import type { ShardPlacement } from './placement.js';
import type { ReplicaLocator } from './replica-locator.js';
import { REPAIRS_AT_ONCE } from './constants.js';

export interface RepairDeps {
  index: Pick<BackupIndex, 'shards'>;
  locator: Pick<ReplicaLocator, 'liveContracts' | 'localCopy' | 'fetchFromAny'>;
  placement: Pick<ShardPlacement, 'placeMore'>;
  clock: { now(): number };
  /** See BackupEngineOptions.renewBeforeFraction. */
  renewBeforeFraction: number;
  repairsAtOnce?: number;
  /** Shards this repair leaves alone (erasure-coded ones: piece-repair.ts). */
  skip?: (shard: ShardRow) => boolean;
}

export class Repairer {
  /** Placements that found nobody (the next pass tries again). */
  failures = 0;
  /** What the last run downloaded (copies fetched from surviving replicas) and uploaded (new replicas), in bytes. */
  lastBytes = { downloaded: 0, uploaded: 0 };

  constructor(private readonly deps: RepairDeps) {}

  /**
   * Places new replicas for shards below their wanted count, a few shards at a time: each
   * placement mostly waits (lookups that meet dead contacts, HELLOs, uploads), so overlapping
   * them cuts the time a host's death leaves shards short. Returns how many were placed.
   */
  async run(): Promise<number> {
    const { index, locator, placement } = this.deps;
    let placed = 0;
    const bytes = (this.lastBytes = { downloaded: 0, uploaded: 0 });
    const queue = new PQueue({ concurrency: this.deps.repairsAtOnce ?? REPAIRS_AT_ONCE });
    const now = this.deps.clock.now();
    for (const shard of index.shards()) {
      if (this.deps.skip?.(shard)) continue;
      const live = locator.liveContracts(shard.hash);
      const lasting = live.filter((c) => isLasting(c.contract.terms, now, this.deps.renewBeforeFraction));
      const missing = shard.replicas - lasting.length;
      if (missing <= 0) continue;
      void queue.add(async () => {
        const file = await this.sourceFor(shard, live);
        if (!file) return;
        if (file.temporary) bytes.downloaded += shard.size;
        try {
          // Excluded: hosts with a live contract for it (never two replicas on one host; an
          // expiring one's renewal goes elsewhere), and hosts that failed any audit.
          // Awaited first: `placed += await …` would read `placed` before the wait and lose
          // the counts of repairs that finish meanwhile.
          const more = await placement.placeMore(file.path, missing, live.map((c) => c.counterpart));
          placed += more;
          bytes.uploaded += more * shard.size;
        } catch {
          // Nobody available now; the next pass tries again.
          this.failures++;
        } finally {
          if (file.temporary) await fs.rm(file.path, { force: true });
        }
      });
    }
    await queue.onIdle();
    return placed;
  }

  /** Our local copy of a shard, or one fetched from a surviving (active) replica. */
  private async sourceFor(shard: ShardRow, live: StoredContract[]): Promise<{ path: string; temporary: boolean } | null> {
    const own = await this.deps.locator.localCopy(shard);
    if (own) return { path: own, temporary: false };
    const fetched = await this.deps.locator.fetchFromAny(live.filter((x) => x.state === 'active'));
    return fetched ? { path: fetched, temporary: true } : null;
  }
}
