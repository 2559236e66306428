/**
 * Which peers must be punched to, and through which rendezvous: learned from their signed peer
 * records (`r`), kept in a bounded table, and used by `punchingIntroduce`, which wraps the HELLO
 * client so that every path to a peer (placement's HELLO, then CONTRACT_PROPOSE, CANCEL, the
 * DHT's messages to it) goes over a punched path when the peer sits behind a NAT.
 */
import { type Address, formatAddress } from '../net/address.js';
import type { Introduce } from '../contracts/introduce.js';
import type { Socket } from 'node:net';
import { TransferError } from '../transfer/frames.js';
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

  /** Every peer to punch to ("host:port"), with its rendezvous. */
  all(): Map<string, Address[]> {
    return new Map(this.routes);
  }
}

/** What punchingIntroduce needs of the NAT service. */
export interface PunchPort {
  punch(peer: Address, rendezvous: Address[]): Promise<PunchResult>;
  punchedRecently(peer: Address): boolean;
  openTcp(peer: Address): Promise<Socket>;
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

/**
 * The transfer client's connect (src/transfer/client.ts): a plain TCP connection, or for a host
 * behind a NAT whose rendezvous we know, a TCP simultaneous open on a punched path (the UDP path
 * punched first if it is not open). A punch that fails is the transfer's CONNECTION_LOST, as an
 * unreachable host is: the owner places the shard elsewhere.
 */
export function punchingConnect(
  direct: (address: Address, timeoutMs: number) => Promise<Socket>,
  routes: Pick<PunchRoutes, 'get'>,
  nat: () => PunchPort,
): (address: Address, timeoutMs: number) => Promise<Socket> {
  return async (address, timeoutMs) => {
    const rendezvous = routes.get(address);
    if (!rendezvous) return direct(address, timeoutMs);
    try {
      if (!nat().punchedRecently(address)) await nat().punch(address, rendezvous);
      const socket = await nat().openTcp(address);
      // As a direct connection: errors surface through the transfer's own steps.
      socket.on('error', () => {});
      return socket;
    } catch (err) {
      throw new TransferError('CONNECTION_LOST', `cannot open a punched stream to ${formatAddress(address)}: ${(err as Error).message}`);
    }
  };
}
