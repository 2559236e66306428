/**
 * restic's forget policy (internal/data/snapshot_policy.go), written anew: which snapshots of one
 * group to keep, and why. Pure: the time zone (`calendar`) and "now" are injected.
 *
 * The rules, applied to the group's snapshots newest first:
 * - `last` N: the N newest.
 * - `hourly`/`daily`/`weekly`/`monthly`/`yearly` N: walking newest to oldest, a snapshot is kept
 *   when its hour (day, ISO week, month, year) differs from that of the last snapshot this rule
 *   kept, until N are kept: the newest snapshot of each of the N latest periods that have one.
 *   If a rule still has count left when the walk reaches the oldest snapshot, that one is kept
 *   too ("oldest daily"): a young history keeps its first snapshot.
 *   `Infinity` is restic's `unlimited`.
 * - `within` D: every snapshot newer than (latest snapshot − D); "latest" is the newest snapshot
 *   not after `now`, so a snapshot with a clock running ahead does not decide the window.
 * - `withinHourly` .. `withinYearly` D: the period rules without a count, limited to that window.
 * - `tags`: each entry a list of tags that must all be present; any entry matching keeps it.
 * A snapshot is kept if any rule keeps it; every rule that matched is a reason.
 */
import { type Calendar, type CalendarFields, formatKeepDuration, isZeroDuration, type KeepDuration } from './calendar.js';
import { RetentionError } from './errors.js';

/** What the rules need of a snapshot. */
export interface PolicySnapshot {
  id: string;
  /** ms since the epoch */
  createdAt: number;
  /** The backed-up path; snapshots are grouped by it. */
  source: string;
  /** The machine it was taken on, if recorded (groups by it when present). */
  host?: string;
  tags?: readonly string[];
}

export interface RetentionPolicy {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  within?: KeepDuration;
  withinHourly?: KeepDuration;
  withinDaily?: KeepDuration;
  withinWeekly?: KeepDuration;
  withinMonthly?: KeepDuration;
  withinYearly?: KeepDuration;
  /** Keep snapshots that carry every tag of any one of these lists. */
  tags?: readonly (readonly string[])[];
}

export interface KeptSnapshot<S> {
  snapshot: S;
  /** Why, in restic's words: `last snapshot`, `daily snapshot`, `oldest monthly snapshot`, `within 7d`, `daily within 1m`, `has tags [a,b]`. */
  reasons: string[];
}

export interface PolicyResult<S> {
  /** Newest first. */
  keep: KeptSnapshot<S>[];
  /** Newest first. */
  remove: S[];
}

export interface PolicyContext {
  /** ms since the epoch: snapshots after it are "in the future" and do not anchor `within`. */
  now: number;
  calendar: Calendar;
}

type Period = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';
const PERIODS: readonly Period[] = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'];
const WITHIN_KEY = { hourly: 'withinHourly', daily: 'withinDaily', weekly: 'withinWeekly', monthly: 'withinMonthly', yearly: 'withinYearly' } as const;

/** The bucket a snapshot falls in for a period rule; equal values are one period. */
function bucketOf(period: Period, f: CalendarFields): number {
  switch (period) {
    case 'hourly': return ((f.year * 100 + f.month) * 100 + f.day) * 100 + f.hour;
    case 'daily': return (f.year * 100 + f.month) * 100 + f.day;
    case 'weekly': return f.weekYear * 100 + f.week;
    case 'monthly': return f.year * 100 + f.month;
    case 'yearly': return f.year;
  }
}

/** True when the policy has no rule at all (restic's `Empty()`): forget must then refuse. */
export function isEmptyPolicy(p: RetentionPolicy): boolean {
  const counts = [p.last, ...PERIODS.map((k) => p[k])].some((n) => n !== undefined && n !== 0);
  const durations = [p.within, ...PERIODS.map((k) => p[WITHIN_KEY[k]])].some((d) => !isZeroDuration(d));
  return !counts && !durations && (p.tags ?? []).length === 0;
}

/** Checks counts (whole numbers ≥ 0, or Infinity) and tag lists; throws BAD_POLICY. */
export function validatePolicy(p: RetentionPolicy): void {
  for (const key of ['last', ...PERIODS] as const) {
    const n = p[key];
    if (n !== undefined && !(n === Infinity || (Number.isSafeInteger(n) && n >= 0))) {
      throw new RetentionError('BAD_POLICY', `--keep-${key === 'last' ? 'last' : key} must be a whole number of 0 or more, or "unlimited" (got ${n})`);
    }
  }
  for (const list of p.tags ?? []) {
    if (list.length === 0 || list.some((t) => t.length === 0)) throw new RetentionError('BAD_POLICY', '--keep-tag needs a tag (or tags separated by commas)');
  }
}

/** `keep 7 daily, 4 weekly snapshots, all snapshots within 2d of the newest` (for the plan's header). */
export function describePolicy(p: RetentionPolicy): string {
  const counts = (['last', ...PERIODS] as const)
    .filter((k) => (p[k] ?? 0) > 0)
    .map((k) => `${p[k] === Infinity ? 'all' : p[k]} ${k === 'last' ? 'latest' : k}`);
  const parts: string[] = counts.length ? [`${counts.join(', ')} snapshots`] : [];
  for (const k of PERIODS) if (!isZeroDuration(p[WITHIN_KEY[k]])) parts.push(`${k} snapshots within ${formatKeepDuration(p[WITHIN_KEY[k]]!)}`);
  if (p.tags?.length) parts.push(`all snapshots with tags ${p.tags.map((l) => `[${l.join(',')}]`).join(' or ')}`);
  if (!isZeroDuration(p.within)) parts.push(`all snapshots within ${formatKeepDuration(p.within!)} of the newest`);
  return parts.length ? `keep ${parts.join(', ')}` : 'remove';
}

/** Newest first; equal times by ID, newest-looking first, so the result never depends on input order. */
export function newestFirst<S extends PolicySnapshot>(list: readonly S[]): S[] {
  return [...list].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/** Applies `policy` to one group of snapshots (see the file comment for the rules). */
export function applyPolicy<S extends PolicySnapshot>(list: readonly S[], policy: RetentionPolicy, ctx: PolicyContext): PolicyResult<S> {
  validatePolicy(policy);
  const sorted = newestFirst(list);
  const result: PolicyResult<S> = { keep: [], remove: [] };
  if (sorted.length === 0) return result;

  // The newest snapshot not after now; none: the window starts at the beginning of time (as restic's zero time).
  const latest = sorted.find((s) => s.createdAt <= ctx.now)?.createdAt;
  const windowStart = (d: KeepDuration | undefined): number | null =>
    isZeroDuration(d) ? null : latest === undefined ? -Infinity : ctx.calendar.minus(latest, d!);

  const counted = (['last', ...PERIODS] as const)
    .filter((k) => (policy[k] ?? 0) > 0)
    .map((k) => ({ name: k, left: policy[k]!, lastBucket: NaN }));
  const windowed = PERIODS
    .map((k) => ({ name: k, start: windowStart(policy[WITHIN_KEY[k]]), label: formatKeepDuration(policy[WITHIN_KEY[k]] ?? { years: 0, months: 0, days: 0, hours: 0 }), lastBucket: NaN }))
    .filter((w) => w.start !== null);
  const withinStart = windowStart(policy.within);

  sorted.forEach((snap, nr) => {
    const reasons: string[] = [];
    const oldest = nr === sorted.length - 1;
    const fields = ctx.calendar.fields(snap.createdAt);
    for (const list of policy.tags ?? []) {
      if (list.every((t) => snap.tags?.includes(t))) reasons.push(`has tags [${list.join(',')}]`);
    }
    if (withinStart !== null && snap.createdAt > withinStart) reasons.push(`within ${formatKeepDuration(policy.within!)}`);
    for (const rule of counted) {
      if (rule.left <= 0) continue;
      const bucket = rule.name === 'last' ? nr : bucketOf(rule.name, fields);
      if (bucket === rule.lastBucket && !oldest) continue;
      const label = rule.name === 'last' ? 'last snapshot' : `${rule.name} snapshot`;
      reasons.push(bucket === rule.lastBucket ? `oldest ${label}` : label);
      rule.lastBucket = bucket;
      rule.left--;
    }
    for (const w of windowed) {
      if (!(snap.createdAt > w.start!)) continue;
      const bucket = bucketOf(w.name, fields);
      if (bucket === w.lastBucket && !oldest) continue;
      reasons.push(`${bucket === w.lastBucket ? 'oldest ' : ''}${w.name} within ${w.label}`);
      w.lastBucket = bucket;
    }
    if (reasons.length) result.keep.push({ snapshot: snap, reasons });
    else result.remove.push(snap);
  });
  return result;
}
