/**
 * How others reach this peer, as `dbs status` shows it (pure): from the DHT's view of its own
 * address, the reachability verdicts and the port mapping, if any.
 */
import { type Address, formatAddress } from '../net/address.js';
import type { AddressVerdict } from './address-sampler.js';
import type { Reachability } from './reachability.js';

export type ReachKind = 'public' | 'mapped' | 'client-only';

export interface MappingInfo {
  /** The router protocol that made the mapping. */
  protocol: 'upnp' | 'nat-pmp';
  external: string;
  /** When the lease runs out unless renewed (ms since the epoch). */
  expiresAt: number;
}

export interface ReachStatus {
  /** public: others reach us at our address; mapped: through a port mapping; client-only: not at all (read-only). */
  reach: ReachKind;
  /** The address others reach us at, or null while we do not know it. */
  address: string | null;
  /** Where the address came from: bound (--host), observed (agreed by peers), mapped, unknown. */
  addressSource: 'bound' | 'observed' | 'mapped' | 'unknown';
  udp: Reachability;
  tcp: Reachability;
  /** What peers' observations say about our NAT: consistent (one port for all), random (symmetric), unknown. */
  nat: AddressVerdict['mapping'];
  /** Distinct network prefixes behind the observed address. */
  observers: number;
  mapping: MappingInfo | null;
  /** Why the peer is client-only, when it is. */
  reason?: string;
  /** Reachable peers a client-only peer keeps its NAT mappings open to (keepalive.ts). */
  rendezvous?: string[];
  /** Of those, the ones that took our REGISTER: they pass punch requests on to us (our record's `r`). */
  registeredWith?: string[];
}

export interface ReachInputs {
  address: Address;
  source: ReachStatus['addressSource'];
  readOnly: boolean;
  observed: AddressVerdict;
  udp: Reachability;
  tcp: Reachability;
  mapping: MappingInfo | null;
}

export function reachStatus(i: ReachInputs): ReachStatus {
  const known = i.source !== 'unknown';
  const base = {
    address: known ? formatAddress(i.address) : null,
    addressSource: i.source,
    udp: i.udp,
    tcp: i.tcp,
    nat: i.observed.mapping,
    observers: i.observed.agreeing,
    mapping: i.mapping,
  };
  if (i.readOnly) return { reach: 'client-only', ...base, reason: clientOnlyReason(i) };
  return { reach: i.source === 'mapped' ? 'mapped' : 'public', ...base };
}

function clientOnlyReason(i: ReachInputs): string {
  if (i.source !== 'unknown') return 'dial-backs from strangers did not get through (a NAT or firewall drops them)';
  if (i.observed.mapping === 'random') return 'the NAT gives a new port per destination (symmetric): no address others could use';
  return 'too few peers in distinct networks have agreed on our address yet';
}
