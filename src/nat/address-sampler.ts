/**
 * Working out our own external address from what other peers saw (pure: no sockets, no timers).
 *
 * Every answer a peer sends carries the address our request came from (BEP 42's `ip`, libp2p's
 * observed address). One peer's word is never enough — a liar could steer our node ID — so a
 * sample counts once per reporter network prefix (IPv4 /24, IPv6 /48: a Sybil on one machine or
 * subnet is one vote), and an address is taken only when `minAgreeing` prefixes agree.
 *
 * The samples also say what kind of NAT we sit behind, as hyperdht's nat.js reasons:
 * - `consistent`: enough prefixes saw the same host:port — the NAT keeps one mapping for every
 *   destination (port-preserving or endpoint-independent), so others can reach that port once a
 *   mapping exists (punching works);
 * - `random`: they agree on the host but each saw another port — a symmetric NAT that picks a new
 *   port per destination; the port others saw is of no use to anyone else;
 * - `unknown`: too few samples yet.
 */
import type { Address } from '../net/address.js';

export interface AddressSamplerSettings {
  minAgreeing: number;
  sampleTtlMs: number;
  maxReporters: number;
}

export const ADDRESS_SAMPLER_DEFAULTS: Readonly<AddressSamplerSettings> = {
  /** Distinct reporter prefixes that must agree (3: two colluding subnets are not enough; hyperdht uses 3 of 4). */
  minAgreeing: 3,
  /** A sample older than this no longer counts (30 min, in ms): a home's address changes on reconnect. */
  sampleTtlMs: 30 * 60_000,
  /** Reporter prefixes remembered at once (32): bounded, the oldest goes first. */
  maxReporters: 32,
};

export type AddressSamplerOptions = Partial<AddressSamplerSettings>;

export type MappingKind = 'unknown' | 'consistent' | 'random';

export interface AddressVerdict {
  /** The external address enough prefixes agree on, or null (none yet, or the NAT randomises ports). */
  address: Address | null;
  /** The external host enough prefixes agree on, even when the port is random. */
  host: string | null;
  mapping: MappingKind;
  /** Distinct prefixes behind the verdict's address (or host, for `random`). */
  agreeing: number;
}

interface Sample {
  host: string;
  port: number;
  at: number;
}

export class AddressSampler {
  private readonly options: AddressSamplerSettings;
  /** Latest sample per reporter prefix, oldest first (a Map keeps insertion order). */
  private readonly samples = new Map<string, Sample>();

  constructor(options: AddressSamplerOptions = {}) {
    this.options = { ...ADDRESS_SAMPLER_DEFAULTS, ...options };
  }

  /** Records that a peer in `reporterPrefix` saw our request come from `observed`, at `now` (ms). */
  add(observed: Address, reporterPrefix: string, now: number): void {
    // The latest word of a prefix replaces its earlier one: a prefix is one vote, never more.
    this.samples.delete(reporterPrefix);
    this.samples.set(reporterPrefix, { host: observed.host, port: observed.port, at: now });
    while (this.samples.size > this.options.maxReporters) this.samples.delete(this.samples.keys().next().value!);
  }

  /** Forgets every sample (our network changed: a new interface, a reconnect). */
  clear(): void {
    this.samples.clear();
  }

  /** Distinct prefixes with a sample still in force. */
  count(now: number): number {
    return this.fresh(now).length;
  }

  verdict(now: number): AddressVerdict {
    const fresh = this.fresh(now);
    const byAddress = tally(fresh.map((s) => `${s.host}|${s.port}`));
    const byHost = tally(fresh.map((s) => s.host));
    const [bestAddress, addressVotes] = byAddress[0] ?? ['', 0];
    const [bestHost, hostVotes] = byHost[0] ?? ['', 0];
    const { minAgreeing } = this.options;
    if (addressVotes >= minAgreeing) {
      const [host, port] = bestAddress.split('|') as [string, string];
      return { address: { host, port: Number(port) }, host, mapping: 'consistent', agreeing: addressVotes };
    }
    // Agreement on the host while every port differs: a new mapping per destination.
    if (hostVotes >= minAgreeing && addressVotes <= 1) return { address: null, host: bestHost, mapping: 'random', agreeing: hostVotes };
    return { address: null, host: hostVotes >= minAgreeing ? bestHost : null, mapping: 'unknown', agreeing: addressVotes };
  }

  private fresh(now: number): Sample[] {
    return [...this.samples.values()].filter((s) => now - s.at < this.options.sampleTtlMs);
  }
}

/** Counts of each value, most first (ties: the value seen first wins, for a stable verdict). */
function tally(values: string[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]);
}
