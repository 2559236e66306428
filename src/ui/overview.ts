/**
 * `GET /api/overview`: everything the page needs to show its first screen, in one answer: the
 * status, the last snapshot, the shard, host and guest counts, the recent events and the page's
 * jobs. One request instead of seven, started by the browser while it still loads the scripts
 * (index.html preloads it), and summed up here: no list leaves the server, only counts.
 */
import type { ContractInfo, LedgerInfo } from '../contracts/service.js';
import type { AuditRecord, ShardHealth } from '../backup/shard-health.js';
import type { Job } from './jobs.js';
import { guestsView, hostsView } from './views.js';

export interface OverviewSources {
  call: <T>(route: string) => Promise<T>;
  jobs: () => Job[];
  /** Events sent (newest first). */
  events: number;
}

export interface Overview {
  status: unknown;
  snapshots: { total: number; last: unknown };
  shards: { total: number; degraded: number } | null;
  hosts: { total: number; failing: number; bytes: number } | null;
  guests: { total: number; bytes: number } | null;
  events: unknown[];
  jobs: Job[];
}

/** A route this peer may not serve (an embedder's subset) answers null instead of failing the page. */
const optional = <T>(p: Promise<T>): Promise<T | null> => p.catch(() => null);

export async function overview(src: OverviewSources): Promise<Overview> {
  const [status, snapshots, shards, contracts, ledger, audits, events] = await Promise.all([
    src.call('GET /status'),
    optional(src.call<Array<{ createdAt: number }>>('GET /snapshots')),
    optional(src.call<ShardHealth[]>('GET /shards')),
    optional(src.call<ContractInfo[]>('GET /contracts')),
    optional(src.call<LedgerInfo[]>('GET /ledger')),
    optional(src.call<AuditRecord[]>('GET /audits')),
    optional(src.call<unknown[]>('GET /events')),
  ]);
  const hosts = contracts && ledger ? hostsView(contracts, ledger, audits ?? []) : null;
  const guests = contracts && ledger ? guestsView(contracts, ledger) : null;
  return {
    status,
    // Newest first, as GET /snapshots answers.
    snapshots: { total: snapshots?.length ?? 0, last: snapshots?.[0] ?? null },
    shards: shards && { total: shards.length, degraded: shards.filter((s) => s.live < s.wanted).length },
    hosts: hosts && { total: hosts.length, failing: hosts.filter((h) => h.health === 'failing').length, bytes: hosts.reduce((t, h) => t + h.bytes, 0) },
    guests: guests && { total: guests.length, bytes: guests.reduce((t, g) => t + g.bytes, 0) },
    events: (events ?? []).slice(0, src.events),
    jobs: src.jobs(),
  };
}
