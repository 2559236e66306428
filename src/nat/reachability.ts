/**
 * Whether others can reach us, from the outcome of dial-backs (pure: no sockets, no timers).
 *
 * A peer asks contacts to dial it back, over UDP and over TCP, from an address it has not sent
 * to (AutoNAT-style): an answer that arrives proves that a stranger can reach us, not merely that
 * a NAT let an answer back in. Like address samples, results count once per prober network
 * prefix, so one peer cannot declare us reachable or unreachable on its own.
 *
 * - `reachable`: `minConfirming` prefixes dialled us back on that protocol;
 * - `unreachable`: `minConfirming` prefixes tried and none got through;
 * - `unknown`: not enough results yet (or they disagree: then the newest decide as they come).
 */

export interface ReachabilitySettings {
  minConfirming: number;
  resultTtlMs: number;
  maxProbers: number;
}

export const REACHABILITY_DEFAULTS: Readonly<ReachabilitySettings> = {
  /** Distinct prober prefixes needed for a verdict (2: one prober could lie or be firewalled itself). */
  minConfirming: 2,
  /** A result older than this no longer counts (1 h, in ms): a router's forwarding may change. */
  resultTtlMs: 60 * 60_000,
  /** Prober prefixes remembered per protocol (16): bounded, the oldest goes first. */
  maxProbers: 16,
};

export type ReachabilityOptions = Partial<ReachabilitySettings>;

export type Protocol = 'udp' | 'tcp';
export type Reachability = 'unknown' | 'reachable' | 'unreachable';

interface Result {
  ok: boolean;
  at: number;
}

export class ReachabilityTracker {
  private readonly options: ReachabilitySettings;
  private readonly results: Record<Protocol, Map<string, Result>> = { udp: new Map(), tcp: new Map() };

  constructor(options: ReachabilityOptions = {}) {
    this.options = { ...REACHABILITY_DEFAULTS, ...options };
  }

  /** A dial-back over `protocol` by a prober in `proberPrefix` arrived (`ok`) or never came. */
  record(protocol: Protocol, proberPrefix: string, ok: boolean, now: number): void {
    const results = this.results[protocol];
    results.delete(proberPrefix);
    results.set(proberPrefix, { ok, at: now });
    while (results.size > this.options.maxProbers) results.delete(results.keys().next().value!);
  }

  clear(): void {
    this.results.udp.clear();
    this.results.tcp.clear();
  }

  get(protocol: Protocol, now: number): Reachability {
    const fresh = [...this.results[protocol].values()].filter((r) => now - r.at < this.options.resultTtlMs);
    const ok = fresh.filter((r) => r.ok).length;
    const failed = fresh.length - ok;
    // A prober that fails may sit behind a strict firewall itself: failures decide only while
    // nobody got through.
    if (ok >= this.options.minConfirming) return 'reachable';
    if (ok === 0 && failed >= this.options.minConfirming) return 'unreachable';
    return 'unknown';
  }

  /** Prefixes that still need asking before `protocol` has a verdict (0 once it has one). */
  needed(protocol: Protocol, now: number): number {
    if (this.get(protocol, now) !== 'unknown') return 0;
    const fresh = [...this.results[protocol].values()].filter((r) => now - r.at < this.options.resultTtlMs);
    return Math.max(1, this.options.minConfirming - fresh.length);
  }
}
