/**
 * The whole forget plan: snapshots grouped (by source path, and by host when snapshots record
 * one, as restic's default `--group-by host,paths`; optionally by tags too), the policy applied
 * to each group, or, when snapshot IDs are named instead, exactly those removed. Pure.
 */
import { RetentionError } from './errors.js';
import { applyPolicy, describePolicy, isEmptyPolicy, type KeptSnapshot, newestFirst, type PolicyContext, type PolicySnapshot, type RetentionPolicy } from './policy.js';

export interface ForgetGroupKey {
  source: string;
  host?: string;
  tags?: string[];
}

export interface ForgetGroup<S> {
  key: ForgetGroupKey;
  keep: KeptSnapshot<S>[];
  remove: S[];
}

export interface ForgetPlan<S> {
  /** What the policy says, for the header ("keep 7 daily snapshots"), or `remove named snapshots`. */
  policy: string;
  groups: ForgetGroup<S>[];
  /** IDs to remove, over all groups. */
  removeIds: string[];
}

export interface ForgetPlanOptions extends PolicyContext {
  /** Also group by the snapshots' tag sets (restic's `--group-by tags`). Default false. */
  groupByTags?: boolean;
}

/**
 * Plans a forget. `ids` (full IDs, already resolved) remove exactly those snapshots; otherwise
 * `policy` is applied per group. Throws IDS_AND_POLICY, EMPTY_POLICY or WOULD_REMOVE_ALL.
 */
export function planForget<S extends PolicySnapshot>(snapshots: readonly S[], policy: RetentionPolicy, options: ForgetPlanOptions, ids: readonly string[] = []): ForgetPlan<S> {
  const empty = isEmptyPolicy(policy);
  if (ids.length > 0) {
    if (!empty) throw new RetentionError('IDS_AND_POLICY', 'give snapshot IDs or --keep-* rules, not both');
    const wanted = new Set(ids);
    const groups = groupSnapshots(snapshots, options.groupByTags ?? false).map(({ key, list }) => {
      const sorted = newestFirst(list);
      return { key, keep: sorted.filter((s) => !wanted.has(s.id)).map((snapshot) => ({ snapshot, reasons: ['not named'] })), remove: sorted.filter((s) => wanted.has(s.id)) };
    });
    return { policy: 'remove named snapshots', groups, removeIds: newestFirst(snapshots.filter((s) => wanted.has(s.id))).map((s) => s.id) };
  }
  if (empty) throw new RetentionError('EMPTY_POLICY', 'no policy given (--keep-last, --keep-daily, ... or snapshot IDs): nothing would be kept');
  const groups = groupSnapshots(snapshots, options.groupByTags ?? false).map(({ key, list }) => {
    const { keep, remove } = applyPolicy(list, policy, options);
    if (keep.length === 0) throw new RetentionError('WOULD_REMOVE_ALL', `the policy keeps no snapshot of ${describeKey(key)}: refusing to remove them all`);
    return { key, keep, remove };
  });
  return { policy: describePolicy(policy), groups, removeIds: groups.flatMap((g) => g.remove.map((s) => s.id)) };
}

export function describeKey(key: ForgetGroupKey): string {
  return [key.source, key.host ? `on ${key.host}` : '', key.tags ? `tags [${key.tags.join(',')}]` : ''].filter(Boolean).join(' ');
}

/** Groups in a stable order: by source, then host, then tags. */
function groupSnapshots<S extends PolicySnapshot>(snapshots: readonly S[], byTags: boolean): { key: ForgetGroupKey; list: S[] }[] {
  const groups = new Map<string, { key: ForgetGroupKey; list: S[] }>();
  for (const s of snapshots) {
    const key: ForgetGroupKey = { source: s.source };
    if (s.host !== undefined) key.host = s.host;
    if (byTags) key.tags = [...(s.tags ?? [])].sort();
    const k = JSON.stringify([key.source, key.host ?? null, key.tags ?? null]);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { key, list: [] }));
    g.list.push(s);
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => g);
}
