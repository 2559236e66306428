/**
 * The Peer's NAT service, built from the peer's options (kept out of src/peer/peer.ts so the Peer
 * only constructs, starts, stops and asks it): a port mapping on the router is tried when the
 * peer binds a wildcard (it has no address of its own to offer) unless `mapPort` is false.
 */
import type { Clock } from '../util/clock.js';
import { isUnspecified } from '../util/ip.js';
import { NatService, type NatDht, type NatServiceOptions } from './nat-service.js';
import { PortMapping, type PortMappingOptions } from './port-mapping.js';

export interface PeerNatOptions extends Omit<NatServiceOptions, 'portMapper'> {
  /** Map our port on the router (UPnP, NAT-PMP). Default: when bound to a wildcard host. */
  mapPort?: boolean;
  mapping?: Omit<PortMappingOptions, 'clock'>;
  /**
   * Public keys (hex) of friends to keep our shards first, found by their records wherever they
   * are, punched to behind a NAT (src/peer/friends.ts).
   */
  friends?: string[];
}

export function peerNatService(dht: NatDht, options: { host?: string; nat?: PeerNatOptions; clock: Clock }): NatService {
  // `friends` are placement's (src/peer/friends.ts, built in wiring.ts), not the service's.
  const { mapPort, mapping, friends: _friends, ...rest } = options.nat ?? {};
  const wildcard = options.host !== undefined && isUnspecified(options.host);
  const portMapper = (mapPort ?? wildcard) ? new PortMapping({ ...mapping, clock: options.clock }) : null;
  return new NatService(dht, { ...rest, portMapper });
}
