/**
 * A rendezvous's table of the peers registered with it (pure: no sockets, no timers).
 *
 * Keyed by the address each REGISTER came from (`host:port`): for a peer behind a cone NAT that
 * is its external address, the one its peer record names and others ask for. The rendezvous
 * only ever sends PUNCH_NOTIFY to an address in this table, that is to one that keeps sending
 * it REGISTERs, so a punch request cannot aim it at a third party. Bounded: a full table
 * refuses new registrants (renewals still pass); stale entries go first.
 */
import { type Address, formatAddress } from '../net/address.js';

export interface RegistrationSettings {
  ttlMs: number;
  maxEntries: number;
}

export type RegisterOutcome = 'registered' | 'renewed' | 'full';

export class Registrations {
  /** address → when its registration lapses (ms), oldest renewal first. */
  private readonly entries = new Map<string, number>();

  constructor(private readonly settings: RegistrationSettings) {}

  register(address: Address, now: number): RegisterOutcome {
    const key = formatAddress(address);
    const renewed = this.entries.delete(key);
    if (!renewed) {
      this.prune(now);
      if (this.entries.size >= this.settings.maxEntries) return 'full';
    }
    this.entries.set(key, now + this.settings.ttlMs);
    return renewed ? 'renewed' : 'registered';
  }

  /** Whether `address` holds a registration in force at `now`. */
  has(address: Address, now: number): boolean {
    const until = this.entries.get(formatAddress(address));
    return until !== undefined && until > now;
  }

  /** Registrations in force. */
  count(now: number): number {
    this.prune(now);
    return this.entries.size;
  }

  private prune(now: number): void {
    // Oldest renewal first (Map order): stop at the first entry still in force.
    for (const [key, until] of this.entries) {
      if (until > now) break;
      this.entries.delete(key);
    }
  }
}
