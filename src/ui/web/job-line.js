// One line per action the page started (backup, restore, check, forget, prune): what it was
// asked, how far it got, what it did and how long it took.
import { html } from './components.js';
import { bytes, duration } from './format.js';

/** What prune found and did, in the CLI's words (src/cli/forget.ts renderPrune). */
export function pruneSummary(r) {
  const t = r.plan.totals;
  const found = `${t.shards} shard(s), ${bytes(t.bytes)}: ${bytes(t.usedBytes)} used by kept snapshots, ${bytes(t.unusedBytes)} unused`;
  const plan = `${r.dryRun ? 'would remove' : 'removes'} ${r.plan.drop} unused shard(s) (${bytes(t.dropBytes)}), ${r.dryRun ? 'would repack' : 'repacks'} ${r.plan.repack} (${bytes(t.repackUsedBytes)} moved, ${bytes(t.repackUnusedBytes)} freed); unused after: ${bytes(t.unusedAfter)}`;
  const done = r.dryRun ? 'dry run: nothing changed' : `repacked into ${r.repackedInto} new shard(s); ${r.removedShards} shard(s) removed, ${r.cancelled} contract(s) cancelled`;
  return [found, plan, done];
}

const WHAT = {
  backup: (r) => r.path,
  restore: (r) => `${r.path || '(whole snapshot)'} → ${r.dest}`,
  check: () => 'all hosts',
  forget: (r) => `${r.snapshots.length} snapshot(s)`,
  prune: (r) => (r.dryRun ? '(dry run)' : ''),
};

const RUNNING = {
  backup: (p) => `${p.phase}: ${p.files} files, ${bytes(p.bytes)} read, ${bytes(p.uploadedBytes)} uploaded`,
  restore: (p) => `${p.files} files, ${bytes(p.bytes)}${p.totalBytes ? ` (${Math.floor((100 * p.bytes) / p.totalBytes)} %)` : ''}`,
};

const DONE = {
  backup: (r) => `snapshot ${r.id}: ${r.files} files, ${bytes(r.uploadedBytes)} uploaded${r.shortfall ? `, ${r.shortfall} replica(s) short` : ''}`,
  restore: (r) => `${r.files} files, ${bytes(r.bytes)} written${r.incomplete.length ? `; ${r.incomplete.length} incomplete` : ''}`,
  check: (r) => `audited ${r.audited}: ${r.failed} failed, ${r.cancelled} cancelled, ${r.replaced} re-created`,
  forget: (r) => `removed ${r.removed.length} snapshot(s); their space is reclaimed by prune`,
  prune: (r) => pruneSummary(r).slice(1).join('; '),
};

export function JobLine({ job }) {
  let detail = '';
  if (job.state === 'running') detail = job.progress && RUNNING[job.kind] ? RUNNING[job.kind](job.progress) : job.progress ? '' : 'starting…';
  else if (job.state === 'failed') detail = job.error.message;
  else detail = DONE[job.kind]?.(job.result) ?? '';
  if (job.endedAt) detail += ` (${duration(job.endedAt - job.startedAt)})`;
  return html`<li class=${`job ${job.state}`} data-job=${job.id} data-kind=${job.kind} data-state=${job.state}><b>${job.kind}</b> ${WHAT[job.kind]?.(job.request) ?? ''} — <span class="state">${job.state}</span> ${detail}</li>`;
}
