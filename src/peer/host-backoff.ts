/**
 * Hosts that just failed us as owner (an upload that broke off, a full disk), remembered in
 * memory with the reason, so placement routes around them for a while instead of asking the
 * same failing host again on every repair pass. Pure: the caller passes the time.
 *
 * The wait doubles with each failure in a row (1 min, 2 min, … at most 1 h) and ends at the
 * host's first success. Not kept across restarts: a restart is a fresh start for hosts that
 * merely failed to take data; hosts that lost data are remembered in the database for good
 * (contracts/host-failures.ts).
 */
import { toHex } from '../util/bytes.js';

export const BACKOFF_DEFAULTS = {
  /** ms: the first wait; long enough for a repair pass (every minute) to skip the host once. */
  firstMs: 60_000,
  /** ms: the longest wait; a host whose disk filled may be emptied within the hour. */
  maxMs: 3_600_000,
  /** Hosts remembered at most (the oldest entry is dropped first): memory stays bounded. */
  maxHosts: 1024,
} as const;

/** One host in backoff: why, since when, and until when it is not asked. */
export interface BackoffEntry {
  host: Uint8Array;
  reason: string;
  failures: number;
  lastFailureAt: number;
  until: number;
}

export class HostBackoff {
  private readonly entries = new Map<string, BackoffEntry>();

  constructor(private readonly init: { firstMs: number; maxMs: number; maxHosts: number } = BACKOFF_DEFAULTS) {}

  /** The host failed (`reason` in words or a refusal code): its wait starts, or doubles. */
  failed(host: Uint8Array, reason: string, now: number): BackoffEntry {
    const key = toHex(host);
    const before = this.entries.get(key);
    const failures = (before?.failures ?? 0) + 1;
    const wait = Math.min(this.init.maxMs, this.init.firstMs * 2 ** Math.min(failures - 1, 30));
    const entry = { host, reason, failures, lastFailureAt: now, until: now + wait };
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.init.maxHosts) this.entries.delete(this.entries.keys().next().value!);
    return entry;
  }

  /** The host took data: it is trusted again at once. */
  succeeded(host: Uint8Array): void {
    this.entries.delete(toHex(host));
  }

  /** Hosts not to ask now. Entries past their wait stay (their count doubles the next wait) until a success. */
  waiting(now: number): Uint8Array[] {
    return [...this.entries.values()].filter((e) => e.until > now).map((e) => e.host);
  }

  /** Every host remembered, with its reason (status, tests). */
  list(): BackoffEntry[] {
    return [...this.entries.values()];
  }
}
