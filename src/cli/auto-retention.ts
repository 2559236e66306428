/**
 * Retention that runs itself for watched folders: each folder's `--keep-*` policy, applied to
 * that folder's snapshots after its backups at the RetentionPacer's pace (kept in the peer's
 * database, so a restart keeps it), then one prune.
 * Failures are logged, never thrown: a backup that succeeded stays a success.
 */
import type { Peer } from '../peer/peer.js';
import type { KeepFlags } from '../retention/flags.js';
import { policyFromFlags } from '../retention/flags.js';
import { AUTO_RETENTION, RetentionPacer } from '../retention/pacer.js';
import type { PeerLog } from './log.js';

export interface AutoRetention {
  /** The policy for a watched folder (none: its snapshots are kept). Throws BAD_POLICY at once. */
  setPolicy(folder: string, keep: KeepFlags | undefined): void;
  /** A watched folder's backup finished. */
  afterBackup(now: number): Promise<void>;
}

export function autoRetention(peer: Pick<Peer, 'forget' | 'prune' | 'retentionPace'>, log: Pick<PeerLog, 'info' | 'warn'>, pace: { everyBackups?: number; everyMs?: number } = {}): AutoRetention {
  const policies = new Map<string, ReturnType<typeof policyFromFlags>>();
  // Paced across restarts: the state is in the peer's database.
  const pacer = new RetentionPacer({ ...AUTO_RETENTION, ...pace }, peer.retentionPace);
  return {
    setPolicy(folder, keep) {
      if (keep && Object.keys(keep).length > 0) policies.set(folder, policyFromFlags(keep));
      else policies.delete(folder);
    },
    async afterBackup(now) {
      if (policies.size === 0 || !pacer.backupDone(now)) return;
      try {
        let removed = 0;
        for (const [folder, policy] of policies) removed += (await peer.forget({ policy, sources: [folder] })).removed.length;
        const pruned = await peer.prune();
        log.info('auto-retention', { removed, removedShards: pruned.removedShards, cancelled: pruned.cancelled }, `retention: ${removed} snapshot(s) forgotten, ${pruned.removedShards} shard(s) removed, ${pruned.cancelled} contract(s) cancelled`);
      } catch (err) {
        log.warn('auto-retention-failed', { error: (err as Error).message }, `retention after backup failed: ${(err as Error).message}`);
      }
    },
  };
}
