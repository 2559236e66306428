/**
 * `dbs forget`: the command's options (restic's names), the request it sends, and the plan
 * printed for a person. The policy is parsed here first so a bad flag is exit 2 at once; the
 * peer parses it again (src/retention/flags.ts) and plans over its snapshots.
 */
import type { Command } from 'commander';
import type { ForgetResult } from '../peer/retention.js';
import type { KeepFlags } from '../retention/flags.js';
import { CliError, ExitCode } from './errors.js';
import { table } from './render.js';
import { formatBytes } from './units.js';
import type { PruneResult } from '../backup/prune.js';

interface ForgetCliOptions {
  keepLast?: string;
  keepHourly?: string;
  keepDaily?: string;
  keepWeekly?: string;
  keepMonthly?: string;
  keepYearly?: string;
  keepWithin?: string;
  keepWithinHourly?: string;
  keepWithinDaily?: string;
  keepWithinWeekly?: string;
  keepWithinMonthly?: string;
  keepWithinYearly?: string;
  keepTag?: string[];
  dryRun?: boolean;
  prune?: boolean;
  maxUnused?: string;
  json?: boolean;
}

export interface ForgetCommandDeps {
  withCommon: (cmd: Command) => Command;
  ask: <T>(opts: object, method: 'GET' | 'POST', route: string, body?: unknown) => Promise<T>;
  print: (opts: { json?: boolean }, value: unknown, human: () => string) => void;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function addForgetCommand(program: Command, deps: ForgetCommandDeps): void {
  addKeepOptions(deps.withCommon(program.command('forget [snapshot...]'))
    .description('remove snapshots by a retention policy (restic\'s --keep-* rules, per source path), or the ones named'))
    .option('--dry-run', 'print the plan, remove nothing')
    .option('--prune', 'reclaim the space of removed snapshots afterwards (as `dbs prune`)')
    .option('--max-unused <percent>', 'with --prune: unused space allowed to stay on hosts, percent (default 5)')
    .action(async (snapshots: string[], opts: ForgetCliOptions) => {
      const keep = keepFlags(opts);
      const { policyFromFlags } = await import('../retention/flags.js');
      policyFromFlags(keep); // throws BAD_POLICY: exit 2 before the peer is asked
      const result = await deps.ask<ForgetResult>(opts, 'POST', '/forget', { snapshots, keep, dryRun: opts.dryRun === true, prune: opts.prune === true, ...percent(opts.maxUnused) });
      deps.print(opts, result, () => renderForgetPlan(result));
    });
}

/** `--max-unused 5` or `5%`: checked here so a typo is exit 2 before the peer is asked. */
function percent(value: string | undefined): { maxUnused?: number } {
  if (value === undefined) return {};
  const v = Number(value.replace(/%$/, ''));
  if (value.trim() === '' || !(v >= 0 && v < 100)) throw new CliError(`--max-unused takes a percentage from 0 to below 100 (got "${value}")`, ExitCode.usage);
  return { maxUnused: v };
}

/** `dbs prune`: reclaims what no kept snapshot needs (src/backup/prune.ts). */
export function addPruneCommand(program: Command, deps: ForgetCommandDeps): void {
  deps.withCommon(program.command('prune'))
    .description('reclaim space on hosts: cancel shards no kept snapshot needs, repack mostly-unused and small ones')
    .option('--max-unused <percent>', 'unused space allowed to stay on hosts, percent of what stays (default 5, as restic)')
    .option('--dry-run', 'print what would be done, change nothing')
    .action(async (opts: { maxUnused?: string; dryRun?: boolean; json?: boolean }) => {
      const result = await deps.ask<PruneResult>(opts, 'POST', '/prune', { dryRun: opts.dryRun === true, ...percent(opts.maxUnused) });
      deps.print(opts, result, () => renderPrune(result));
    });
}

/** What prune found and did, as restic words it. */
export function renderPrune(r: PruneResult): string {
  const t = r.plan.totals;
  const lines = [
    `${t.shards} shard(s), ${formatBytes(t.bytes)}: ${formatBytes(t.usedBytes)} used by kept snapshots, ${formatBytes(t.unusedBytes)} unused`,
    `${r.dryRun ? 'would remove' : 'remove'} ${r.plan.drop} unused shard(s) (${formatBytes(t.dropBytes)}), repack ${r.plan.repack} (${formatBytes(t.repackUsedBytes)} moved, ${formatBytes(t.repackUnusedBytes)} freed); unused after: ${formatBytes(t.unusedAfter)}`,
  ];
  if (!r.dryRun) lines.push(`repacked into ${r.repackedInto} new shard(s); ${r.removedShards} shard(s) removed, ${r.cancelled} contract(s) cancelled`);
  return lines.join('\n');
}

/** The `--keep-*` options (forget, and start/watch for retention that runs itself). */
export function addKeepOptions(cmd: Command): Command {
  return cmd
    .option('--keep-last <n>', 'keep the n newest snapshots ("unlimited": all)')
    .option('--keep-hourly <n>', 'keep the newest snapshot of each of the last n hours that have one')
    .option('--keep-daily <n>', 'the same per day')
    .option('--keep-weekly <n>', 'the same per ISO week')
    .option('--keep-monthly <n>', 'the same per month')
    .option('--keep-yearly <n>', 'the same per year')
    .option('--keep-within <duration>', 'keep snapshots newer than this before the newest one (1y6m7d2h: m is months)')
    .option('--keep-within-hourly <duration>', 'keep hourly snapshots within this duration of the newest')
    .option('--keep-within-daily <duration>', 'keep daily snapshots within this duration of the newest')
    .option('--keep-within-weekly <duration>', 'keep weekly snapshots within this duration of the newest')
    .option('--keep-within-monthly <duration>', 'keep monthly snapshots within this duration of the newest')
    .option('--keep-within-yearly <duration>', 'keep yearly snapshots within this duration of the newest')
    .option('--keep-tag <tags>', 'keep snapshots with all of these tags (a,b); repeatable: any list', collect);
}

/** The `--keep-*` flags given (checked: BAD_POLICY is exit 2 before the peer is asked); undefined if none. */
export async function keepFlagsOf(opts: Partial<ForgetCliOptions>): Promise<KeepFlags | undefined> {
  const keep = keepFlags(opts);
  if (Object.keys(keep).length === 0) return undefined;
  const { policyFromFlags } = await import('../retention/flags.js');
  policyFromFlags(keep);
  return keep;
}

function keepFlags(o: Partial<ForgetCliOptions>): KeepFlags {
  const pairs: [keyof KeepFlags, string | undefined][] = [
    ['last', o.keepLast], ['hourly', o.keepHourly], ['daily', o.keepDaily], ['weekly', o.keepWeekly], ['monthly', o.keepMonthly], ['yearly', o.keepYearly],
    ['within', o.keepWithin], ['withinHourly', o.keepWithinHourly], ['withinDaily', o.keepWithinDaily], ['withinWeekly', o.keepWithinWeekly],
    ['withinMonthly', o.keepWithinMonthly], ['withinYearly', o.keepWithinYearly],
  ];
  const flags: KeepFlags = {};
  for (const [k, v] of pairs) if (v !== undefined) (flags as Record<string, string>)[k] = v;
  if (o.keepTag?.length) flags.tag = o.keepTag;
  if (o.keepTag?.some((t) => t.trim() === '')) throw new CliError('--keep-tag needs a tag', ExitCode.usage);
  return flags;
}

/** A time as people read it: local, to the minute. */
function when(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** The plan: per group, the kept snapshots with their reasons, then the removed ones. */
export function renderForgetPlan(r: ForgetResult): string {
  const lines: string[] = [`Applying policy: ${r.policy}`];
  for (const g of r.groups) {
    lines.push('', `snapshots of ${g.source}${g.host ? ` on ${g.host}` : ''}${g.tags ? ` tagged [${g.tags.join(',')}]` : ''}:`);
    if (g.keep.length) lines.push(`keep ${g.keep.length} snapshot(s):`, table(['ID', 'TIME', 'REASONS'], g.keep.map((k) => [k.id, when(k.createdAt), (k.reasons ?? []).join(', ')])));
    if (g.remove.length) lines.push(`remove ${g.remove.length} snapshot(s):`, table(['ID', 'TIME'], g.remove.map((s) => [s.id, when(s.createdAt)])));
  }
  lines.push('', r.remove.length === 0 ? 'nothing to remove' : r.dryRun ? `would remove ${r.remove.length} snapshot(s) (dry run)` : `removed ${r.removed.length} snapshot(s)`);
  if (r.prune) lines.push('', renderPrune(r.prune));
  return lines.join('\n');
}
