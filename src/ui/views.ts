/**
 * What the pages show, derived from the control routes' answers (pure: no I/O): pages of a list,
 * the hosts that keep our shards, the guests we keep shards for.
 */
import type { ContractInfo, LedgerInfo } from '../contracts/service.js';
import type { ShardHealth } from '../backup/shard-health.js';

export interface Page<T> {
  total: number;
  offset: number;
  items: T[];
}

export function paginate<T>(list: T[], offset: number, limit: number): Page<T> {
  return { total: list.length, offset, items: list.slice(offset, offset + limit) };
}

export interface HostView {
  host: string;
  address: string | null;
  /** Live contracts (pending or active) for our shards. */
  contracts: number;
  /** Contracts that ended early: cancelled (a failed audit, unreachable past the grace period). */
  cancelled: number;
  /** Bytes they keep for us (live contracts). */
  bytes: number;
  lastAuditAt: number | null;
  unreachableSince: number | null;
  strikes: number;
  defaulterSince: number | null;
  /**
   * failing: strikes, a defaulter, unreachable now, or every contract with it cancelled (an
   * audit it failed or could not be reached for; `reason` says which); ok: passed an audit;
   * unaudited: not audited yet.
   */
  health: 'failing' | 'ok' | 'unaudited';
  reason: 'defaulter' | 'strikes' | 'unreachable' | 'contracts cancelled' | null;
}

export interface GuestView {
  guest: string;
  address: string | null;
  contracts: number;
  /** Bytes we keep for them (live contracts). */
  bytes: number;
  /** Bytes they keep for us. */
  keptByThem: number;
  /** What they keep for us minus what we keep for them: negative means they owe us. */
  balance: number;
  strikes: number;
  defaulterSince: number | null;
}

const LIVE = new Set(['pending', 'active']);

function counterparts(contracts: ContractInfo[], role: ContractInfo['role']): Map<string, ContractInfo[]> {
  const by = new Map<string, ContractInfo[]>();
  for (const c of contracts) {
    if (c.role !== role) continue;
    const list = by.get(c.counterpart) ?? [];
    list.push(c);
    by.set(c.counterpart, list);
  }
  return by;
}

export function hostsView(contracts: ContractInfo[], ledger: LedgerInfo[], shards: ShardHealth[]): HostView[] {
  const led = new Map(ledger.map((l) => [l.counterpart, l]));
  const audits = new Map<string, { last: number | null; unreachable: number | null }>();
  for (const s of shards) {
    for (const r of s.replicas) {
      const a = audits.get(r.host) ?? { last: null, unreachable: null };
      if (r.lastAuditAt !== null) a.last = Math.max(a.last ?? 0, r.lastAuditAt);
      if (r.unreachableSince !== null) a.unreachable = Math.min(a.unreachable ?? Infinity, r.unreachableSince);
      audits.set(r.host, a);
    }
  }
  const views: HostView[] = [];
  for (const [host, list] of counterparts(contracts, 'owner')) {
    const l = led.get(host);
    const a = audits.get(host);
    const live = list.filter((c) => LIVE.has(c.state));
    const strikes = l?.strikes ?? 0;
    const defaulterSince = l?.defaulterSince ?? null;
    const unreachableSince = a?.unreachable ?? null;
    const lastAuditAt = a?.last ?? null;
    const cancelled = list.filter((c) => c.state === 'cancelled').length;
    const reason = defaulterSince !== null ? 'defaulter' : strikes > 0 ? 'strikes' : unreachableSince !== null ? 'unreachable' : live.length === 0 && cancelled > 0 ? 'contracts cancelled' : null;
    views.push({
      host,
      address: l?.lastAddress ?? list[0]!.counterpartAddress,
      contracts: live.length,
      cancelled,
      bytes: l?.keptByThem ?? live.reduce((s, c) => s + c.size, 0),
      lastAuditAt,
      unreachableSince,
      strikes,
      defaulterSince,
      health: reason ? 'failing' : lastAuditAt !== null ? 'ok' : 'unaudited',
      reason,
    });
  }
  const rank = { failing: 0, unaudited: 1, ok: 2 } as const;
  return views.sort((x, y) => rank[x.health] - rank[y.health] || y.bytes - x.bytes || (x.host < y.host ? -1 : 1));
}

export function guestsView(contracts: ContractInfo[], ledger: LedgerInfo[]): GuestView[] {
  const led = new Map(ledger.map((l) => [l.counterpart, l]));
  const views: GuestView[] = [];
  for (const [guest, list] of counterparts(contracts, 'host')) {
    const l = led.get(guest);
    const live = list.filter((c) => LIVE.has(c.state));
    const bytes = l?.keptForThem ?? live.reduce((s, c) => s + c.size, 0);
    const keptByThem = l?.keptByThem ?? 0;
    views.push({
      guest,
      address: l?.lastAddress ?? list[0]!.counterpartAddress,
      contracts: live.length,
      bytes,
      keptByThem,
      balance: keptByThem - bytes,
      strikes: l?.strikes ?? 0,
      defaulterSince: l?.defaulterSince ?? null,
    });
  }
  return views.sort((x, y) => y.strikes - x.strikes || y.bytes - x.bytes || (x.guest < y.guest ? -1 : 1));
}
