/**
 * What the pages show, derived from the control routes' answers (pure: no I/O): pages of a list,
 * the hosts that keep our shards, the guests we keep shards for.
 */
import type { ContractInfo, LedgerInfo } from '../contracts/service.js';
import type { AuditRecord } from '../backup/shard-health.js';

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
  /** Bytes they keep for us (live contracts). */
  bytes: number;
  /** The last audit it passed, over all its contracts (ms since the epoch), or null. */
  lastAuditAt: number | null;
  /** Since when it has not answered audits, if that is later than its last pass; else null. */
  unreachableSince: number | null;
  strikes: number;
  defaulterSince: number | null;
  /**
   * failing: a defaulter, strikes (a failed audit), or unreachable since its last passed audit
   * (`reason` says which); ok: passed an audit; unaudited: not audited yet.
   */
  health: 'failing' | 'ok' | 'unaudited';
  reason: 'defaulter' | 'strikes' | 'unreachable' | null;
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

export function hostsView(contracts: ContractInfo[], ledger: LedgerInfo[], audits: AuditRecord[]): HostView[] {
  const led = new Map(ledger.map((l) => [l.counterpart, l]));
  const byContract = new Map(audits.map((a) => [a.contract, a]));
  const views: HostView[] = [];
  for (const [host, list] of counterparts(contracts, 'owner')) {
    const l = led.get(host);
    let passed: number | null = null;
    let away: number | null = null;
    for (const c of list) {
      const a = byContract.get(c.id);
      if (a?.lastAuditAt != null) passed = Math.max(passed ?? 0, a.lastAuditAt);
      if (a?.unreachableSince != null) away = Math.max(away ?? 0, a.unreachableSince);
    }
    // Unreachable counts only when no audit passed since (a host that came back is fine again).
    const unreachableSince = away !== null && (passed === null || away > passed) ? away : null;
    const live = list.filter((c) => LIVE.has(c.state));
    const strikes = l?.strikes ?? 0;
    const defaulterSince = l?.defaulterSince ?? null;
    const reason = defaulterSince !== null ? 'defaulter' : strikes > 0 ? 'strikes' : unreachableSince !== null ? 'unreachable' : null;
    views.push({
      host,
      address: l?.lastAddress ?? list[0]!.counterpartAddress,
      contracts: live.length,
      bytes: l?.keptByThem ?? live.reduce((s, c) => s + c.size, 0),
      lastAuditAt: passed,
      unreachableSince,
      strikes,
      defaulterSince,
      health: reason ? 'failing' : passed !== null ? 'ok' : 'unaudited',
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
