/**
 * How each peer we know is reached, for `dbs peers` (pure):
 * - `direct`: a DHT contact: it answered us at its address (public, or mapped on its router: it
 *   does not tell us which);
 * - `direct, our rendezvous`: one of those that holds our NAT mapping open (we are client-only);
 * - `punched`: a peer behind a NAT with a path punched within `freshMs` (its mappings should hold);
 * - `punch via R`: a peer behind a NAT whose record names rendezvous R, no path open right now
 *   (the next HELLO or transfer punches first).
 * Client-only peers that only asked us things are not listed: they are in no table, by design.
 */
import { formatAddress } from '../net/address.js';
import { type Contact, nodeIdFromAddress } from '../net/node-id.js';
import type { Address } from '../net/address.js';
import { toHex } from '../util/bytes.js';

export type ReachPath = 'direct' | 'punched' | 'punch';

export interface PeerReach {
  nodeId: string;
  address: string;
  reach: ReachPath;
  /** In words, as `dbs peers` shows it. */
  how: string;
}

export interface PeerReachInputs {
  contacts: Contact[];
  rendezvous: string[];
  punched: Map<string, number>;
  toPunch: Map<string, Address[]>;
  now: number;
  freshMs: number;
}

export function peerReach(i: PeerReachInputs): PeerReach[] {
  const rows = new Map<string, PeerReach>();
  const ours = new Set(i.rendezvous);
  const idOf = (address: string) => {
    const at = address.lastIndexOf(':');
    return toHex(nodeIdFromAddress({ host: address.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(address.slice(at + 1)) }));
  };
  // A punched peer that answered us is in our table too: the punched path is how we reach it.
  for (const [address, at] of i.punched) {
    if (i.now - at >= i.freshMs) continue;
    rows.set(address, { nodeId: idOf(address), address, reach: 'punched', how: `punched ${Math.round((i.now - at) / 1000)} s ago` });
  }
  for (const c of i.contacts) {
    const address = formatAddress(c);
    if (rows.has(address)) continue;
    rows.set(address, { nodeId: toHex(c.id), address, reach: 'direct', how: ours.has(address) ? 'direct, our rendezvous' : 'direct' });
  }

  for (const [address, via] of i.toPunch) {
    if (rows.has(address)) continue;
    rows.set(address, { nodeId: idOf(address), address, reach: 'punch', how: `punch via ${via.map(formatAddress).join(', ')}` });
  }
  return [...rows.values()];
}
