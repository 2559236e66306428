/**
 * `Peer.forget`: the forget plan over the peer's snapshots (src/retention), removing the
 * forgotten snapshots from the catalog through the port's `removeSnapshots` (a segment of
 * `snapshot-forgotten` records), and with `prune` reclaiming their space (`port.prune`,
 * src/backup/prune.ts).
 */
import type { PruneOptions, PruneResult } from '../backup/prune.js';
import { localCalendar, type Calendar } from '../retention/calendar.js';
import { RetentionError } from '../retention/errors.js';
import { planForget } from '../retention/forget-plan.js';
import type { RetentionPolicy } from '../retention/policy.js';

/** What forget needs of the peer. */
export interface RetentionPort {
  /** Every snapshot, any order. */
  snapshots(): Promise<Array<{ id: string; createdAt: number; source: string; tags?: string[] }>>;
  now(): number;
  /**
   * Removes these snapshots from the catalog (the segment chain's `snapshot-forgotten` records,
   * published like any catalog change). Absent until the engine has that catalog: then a forget
   * that would remove something is NOT_SUPPORTED_YET.
   */
  removeSnapshots?(ids: string[]): Promise<void>;
  /** Reclaims what no kept snapshot needs; absent: `prune` is NOT_SUPPORTED_YET. */
  prune?(options: PruneOptions): Promise<PruneResult>;
}

export interface ForgetRequest {
  /** Full snapshot IDs to remove (no policy then). */
  ids?: string[];
  policy?: RetentionPolicy;
  /** Only plan; remove nothing. */
  dryRun?: boolean;
  /** Prune after forgetting. */
  prune?: boolean;
  /** Prune's `--max-unused` percent. */
  maxUnusedPercent?: number;
  /** Only snapshots of these source paths are considered (retention of watched folders). */
  sources?: string[];
  /** Group by tag sets too. */
  groupByTags?: boolean;
  /** Default: the machine's local time zone (a "daily" snapshot is one of the user's days). */
  calendar?: Calendar;
}

export interface ForgetSnapshotOut {
  id: string;
  createdAt: number;
  reasons?: string[];
}

export interface ForgetResult {
  policy: string;
  dryRun: boolean;
  groups: Array<{ source: string; host?: string; tags?: string[]; keep: ForgetSnapshotOut[]; remove: ForgetSnapshotOut[] }>;
  /** IDs that are (dry run: would be) removed. */
  remove: string[];
  /** IDs removed from the catalog (empty in a dry run). */
  removed: string[];
  /** With `prune`: what it did (a dry run: what it would do). */
  prune?: PruneResult;
}

export async function forget(port: RetentionPort, request: ForgetRequest): Promise<ForgetResult> {
  const all = await port.snapshots();
  const snapshots = request.sources ? all.filter((s) => request.sources!.includes(s.source)) : all;
  const plan = planForget(snapshots, request.policy ?? {}, { now: port.now(), calendar: request.calendar ?? localCalendar, groupByTags: request.groupByTags ?? false }, request.ids ?? []);
  const result: ForgetResult = {
    policy: plan.policy,
    dryRun: request.dryRun ?? false,
    groups: plan.groups.map((g) => ({
      ...g.key,
      keep: g.keep.map((k) => ({ id: k.snapshot.id, createdAt: k.snapshot.createdAt, reasons: k.reasons })),
      remove: g.remove.map((s) => ({ id: s.id, createdAt: s.createdAt })),
    })),
    remove: plan.removeIds,
    removed: [],
  };
  if (request.prune && !port.prune) throw new RetentionError('NOT_SUPPORTED_YET', 'prune is not supported by this peer');
  const pruneOptions = { dryRun: result.dryRun, ...(request.maxUnusedPercent !== undefined ? { maxUnusedPercent: request.maxUnusedPercent } : {}) };
  if (result.dryRun) {
    if (request.prune) result.prune = await port.prune!({ ...pruneOptions, assumeForgotten: plan.removeIds });
    return result;
  }
  if (plan.removeIds.length > 0) {
    if (!port.removeSnapshots) {
      throw new RetentionError('NOT_SUPPORTED_YET', `forgetting snapshots is not supported by this peer; ${plan.removeIds.length} snapshot(s) would be removed (--dry-run shows the plan)`);
    }
    await port.removeSnapshots(plan.removeIds);
    result.removed = plan.removeIds;
  }
  if (request.prune) result.prune = await port.prune!(pruneOptions);
  return result;
}
