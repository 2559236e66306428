/**
 * Which address this node goes by, and so its ID (SHA-1 of that address) and whether it is
 * read-only (BEP 43).
 *
 * - Given an explicit host: that address, fixed; observations are only recorded.
 * - Bound to a wildcard (0.0.0.0, ::): the node does not know the address others reach it at,
 *   so it starts read-only. Every answer says where our request came from; the AddressSampler
 *   counts one vote per reporter network prefix, and an address is adopted only when
 *   `addressQuorum` prefixes agree (one liar, or many in one prefix, cannot move it).
 * - Given a mapped address (a port mapping on the router, src/nat): that one, and observations
 *   no longer move it.
 *
 * Pure bookkeeping; the node (node.ts) rebuilds its parts when `observe` says to adopt.
 */
import { type Address, canonicalHost, formatAddress } from '../net/address.js';
import { AddressSampler, type AddressVerdict } from '../nat/address-sampler.js';
import { isUnspecified, prefixKey } from '../util/ip.js';

/** Where the address the node goes by came from. */
export type AddressSource = 'bound' | 'observed' | 'mapped' | 'unknown';

export interface SelfAddressInit {
  /** The address the socket is bound to. */
  bound: Address;
  /** Distinct reporter prefixes that must agree before an observed address is adopted. */
  quorum: number;
  /** ms an observation counts for. */
  sampleTtlMs: number;
}

export class SelfAddress {
  private readonly sampler: AddressSampler;
  private current: Address;
  private currentSource: AddressSource;

  constructor(private readonly init: SelfAddressInit) {
    this.sampler = new AddressSampler({ minAgreeing: init.quorum, sampleTtlMs: init.sampleTtlMs });
    this.current = { host: canonicalHost(init.bound.host), port: init.bound.port };
    this.currentSource = isUnspecified(init.bound.host) ? 'unknown' : 'bound';
  }

  get address(): Address {
    return this.current;
  }

  get source(): AddressSource {
    return this.currentSource;
  }

  /** True while nobody has told us an address we can go by (the node runs read-only). */
  get unknown(): boolean {
    return this.currentSource === 'unknown';
  }

  /**
   * Records that a peer at `reporter` saw our request come from `observed`. Returns the address
   * to adopt when the agreed address is new and ours is not fixed; null otherwise.
   */
  observe(observed: Address, reporter: Address, now: number): Address | null {
    this.sampler.add({ host: canonicalHost(observed.host), port: observed.port }, prefixKey(canonicalHost(reporter.host)), now);
    if (this.currentSource === 'bound' || this.currentSource === 'mapped') return null;
    const { address } = this.sampler.verdict(now);
    if (!address || (this.currentSource === 'observed' && formatAddress(address) === formatAddress(this.current))) return null;
    return address;
  }

  /** Takes `address` as ours (from `observe`, or a port mapping). */
  adopt(address: Address, source: 'observed' | 'mapped'): void {
    this.current = { host: canonicalHost(address.host), port: address.port };
    this.currentSource = source;
  }

  /** What the observations say now: agreed address, NAT mapping kind, votes. */
  verdict(now: number): AddressVerdict {
    return this.sampler.verdict(now);
  }
}
