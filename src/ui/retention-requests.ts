/**
 * The page's forget and prune requests, checked and rebuilt key by key before they reach the
 * control routes (`POST /forget`, `POST /prune`): only the `--keep-*` rules, snapshot IDs, the
 * dry-run switch and `maxUnused` pass; anything else in the body is dropped. The peer parses the
 * policy again (src/retention/flags.ts): a bad rule is its BAD_POLICY, HTTP 400. Pure.
 */
import type { KeepFlags } from '../retention/flags.js';
import { UiError } from './errors.js';

/** The `--keep-*` rules a page may send (KeepFlags without `tag`, which is a list). */
const KEEP_TEXT = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly', 'within', 'withinHourly', 'withinDaily', 'withinWeekly', 'withinMonthly', 'withinYearly'] as const;
/** Snapshots one forget may name: a page of the list and then some; more is not a person clicking. */
const MAX_NAMED = 1000;
/** Characters of one rule's value ("unlimited", "1y6m7d2h", a tag list). */
const MAX_RULE = 256;

function shortText(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length > MAX_RULE || v.includes('\0')) throw new UiError('BAD_REQUEST', `${what} must be text of at most ${MAX_RULE} characters`);
  return v;
}

function keepRules(v: unknown): KeepFlags {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new UiError('BAD_REQUEST', 'keep must be an object of --keep-* rules');
  const given = v as Record<string, unknown>;
  const keep: KeepFlags = {};
  for (const k of KEEP_TEXT) {
    const value = given[k];
    if (value === undefined || value === '') continue;
    keep[k] = shortText(typeof value === 'number' ? String(value) : value, `keep.${k}`).trim();
  }
  if (given.tag !== undefined) {
    if (!Array.isArray(given.tag)) throw new UiError('BAD_REQUEST', 'keep.tag must be a list of tag lists ("a,b")');
    const tags = given.tag.map((t, i) => shortText(t, `keep.tag[${i}]`).trim()).filter((t) => t !== '');
    if (tags.length) keep.tag = tags;
  }
  for (const k of Object.keys(given)) {
    if (k !== 'tag' && !(KEEP_TEXT as readonly string[]).includes(k)) throw new UiError('BAD_REQUEST', `keep.${k} is not a --keep-* rule`);
  }
  return keep;
}

function maxUnused(body: Record<string, unknown>): { maxUnused?: number } {
  if (body.maxUnused === undefined || body.maxUnused === '' || body.maxUnused === null) return {};
  const v = Number(body.maxUnused);
  if (!(v >= 0 && v < 100)) throw new UiError('BAD_REQUEST', 'maxUnused is a percentage from 0 to below 100');
  return { maxUnused: v };
}

/**
 * `{ keep, dryRun }` (plan by rules) or `{ snapshots }` (remove exactly these, as the plan the
 * page showed listed them). Never both: a plan applied is its IDs, so a backup that lands between
 * the plan and the click is not forgotten by a rule the person did not see applied to it.
 */
export function forgetRequest(body: Record<string, unknown>): { snapshots: string[]; keep: KeepFlags; dryRun: boolean } {
  const dryRun = body.dryRun === true;
  const keep = keepRules(body.keep);
  let snapshots: string[] = [];
  if (body.snapshots !== undefined) {
    if (!Array.isArray(body.snapshots) || body.snapshots.length > MAX_NAMED) throw new UiError('BAD_REQUEST', `snapshots must be a list of at most ${MAX_NAMED} IDs`);
    snapshots = body.snapshots.map((s, i) => shortText(s, `snapshots[${i}]`));
    if (snapshots.some((s) => !/^[\w:.-]+$/.test(s))) throw new UiError('BAD_REQUEST', 'snapshots must be snapshot IDs');
  }
  if (snapshots.length > 0 && Object.keys(keep).length > 0) throw new UiError('BAD_REQUEST', 'name snapshots or give --keep-* rules, not both');
  if (snapshots.length === 0 && Object.keys(keep).length === 0) throw new UiError('BAD_REQUEST', 'give at least one --keep-* rule, or the snapshots to forget');
  return { snapshots, keep, dryRun };
}

export function pruneRequest(body: Record<string, unknown>): { dryRun: boolean; maxUnused?: number } {
  return { dryRun: body.dryRun === true, ...maxUnused(body) };
}
