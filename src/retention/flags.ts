/**
 * The `--keep-*` flags as they travel from `dbs forget` to the peer (JSON: text as typed), and
 * their one translation into a RetentionPolicy. Pure; both sides call it, so a bad value fails
 * in the CLI (exit 2) before anything is asked of the peer, and the peer trusts nothing sent.
 */
import { parseKeepDuration } from './calendar.js';
import { RetentionError } from './errors.js';
import type { RetentionPolicy } from './policy.js';
import { parseTagLists } from './tags.js';

export interface KeepFlags {
  last?: string;
  hourly?: string;
  daily?: string;
  weekly?: string;
  monthly?: string;
  yearly?: string;
  within?: string;
  withinHourly?: string;
  withinDaily?: string;
  withinWeekly?: string;
  withinMonthly?: string;
  withinYearly?: string;
  /** `--keep-tag`, repeatable; each value a comma-separated list. */
  tag?: string[];
}

const COUNTS = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
const DURATIONS = ['within', 'withinHourly', 'withinDaily', 'withinWeekly', 'withinMonthly', 'withinYearly'] as const;
const FLAG_NAME: Record<string, string> = {
  last: '--keep-last', hourly: '--keep-hourly', daily: '--keep-daily', weekly: '--keep-weekly', monthly: '--keep-monthly', yearly: '--keep-yearly',
  within: '--keep-within', withinHourly: '--keep-within-hourly', withinDaily: '--keep-within-daily', withinWeekly: '--keep-within-weekly',
  withinMonthly: '--keep-within-monthly', withinYearly: '--keep-within-yearly',
};

/** `7` or `unlimited` (restic's word for "every period"). */
export function parseKeepCount(text: string, flag = '--keep-*'): number {
  const t = String(text).trim();
  if (t === 'unlimited') return Infinity;
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(Number(t))) throw new RetentionError('BAD_POLICY', `${flag} takes a whole number of 0 or more, or "unlimited" (got "${text}")`);
  return Number(t);
}

export function policyFromFlags(flags: KeepFlags): RetentionPolicy {
  const policy: RetentionPolicy = {};
  for (const k of COUNTS) if (flags[k] !== undefined) policy[k] = parseKeepCount(flags[k]!, FLAG_NAME[k]);
  for (const k of DURATIONS) {
    if (flags[k] === undefined) continue;
    try {
      policy[k] = parseKeepDuration(String(flags[k]));
    } catch (err) {
      throw new RetentionError('BAD_POLICY', `${FLAG_NAME[k]}: ${(err as Error).message}`);
    }
  }
  if (flags.tag !== undefined) {
    if (!Array.isArray(flags.tag)) throw new RetentionError('BAD_POLICY', '--keep-tag must be a list of tags');
    if (flags.tag.length) policy.tags = parseTagLists(flags.tag.map(String));
  }
  return policy;
}
