/**
 * Which peers must be punched to, and through which rendezvous: learned from their signed peer
 * records (`r`), kept in a bounded table, and used by `punchingIntroduce`, which wraps the HELLO
 * client so that every path to a peer (placement's HELLO, then CONTRACT_PROPOSE, CANCEL, the
 * DHT's messages to it) goes over a punched path when the peer sits behind a NAT.
 */
import { type Address, formatAddress } from '../net/address.js';
import type { Introduce } from '../contracts/introduce.js';
import type { PunchResult } from './puncher.js';

/** Peers remembered at once (a friends' network has a handful; bounded against junk records). */
const MAX_ROUTES = 1024;

export class PunchRoutes {
  private readonly routes = new Map<string, Address[]>();

  /** Remembers that `peer` is reached by punching through `rendezvous` (none: a reachable peer). */
  learn(peer: Address, rendezvous: Address[] | undefined): void {
    const key = formatAddress(peer);
    this.routes.delete(key);
    if (!rendezvous || rendezvous.length === 0) return;
    this.routes.set(key, rendezvous);
    if (this.routes.size > MAX_ROUTES) this.routes.delete(this.routes.keys().next().value!);
  }

  get(peer: Address): Address[] | undefined {
    return this.routes.get(formatAddress(peer));
  }
}

/** What punchingIntroduce needs of the NAT service. */
export interface PunchPort {
  punch(peer: Address, rendezvous: Address[]): Promise<PunchResult>;
  punchedRecently(peer: Address): boolean;
}

/**
 * HELLO that punches first when `address` is a peer behind a NAT whose rendezvous we know and
 * no path to it is open: the HELLO (and what follows on the same path) then gets through. A
 * failed punch is not an error here: the HELLO fails as it would have, and the caller moves on
 * to another host.
 */
export function punchingIntroduce(introduce: Introduce, routes: Pick<PunchRoutes, 'get'>, nat: () => PunchPort): Introduce {
  return async (address) => {
    const rendezvous = routes.get(address);
    if (rendezvous && !nat().punchedRecently(address)) await nat().punch(address, rendezvous).catch(() => null);
    return introduce(address);
  };
}
