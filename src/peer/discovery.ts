/**
 * Peers finding each other by key: this peer publishes its signed peer record (where it is,
 * what it offers) when that changed, and looks up another peer's record, checking with HELLO
 * that whoever answers at the address holds the key.
 */
import type { Clock } from '../util/clock.js';
import { type Address, formatAddress } from '../net/address.js';
import type { SigningKeyPair } from '../crypto/ed25519.js';
import type { DhtNode } from '../dht/node.js';
import type { Introduce } from '../contracts/introduce.js';
import { findPeerRecord, type PeerRecord, publishPeerRecord } from './peer-record.js';

export interface DiscoveryComponents {
  dht: Pick<DhtNode, 'get' | 'putSigned' | 'address' | 'selfAddress'>;
  signing: SigningKeyPair;
  clock: Clock;
  introduce: Introduce;
  /** What this peer offers right now (its record says it). */
  offer(): { offered: number; free: number };
  /** Rendezvous that pass punch requests on to us while we are client-only (src/nat): our record's `r`. */
  rendezvous?(): Address[];
  /** Told of every record found: a peer naming rendezvous is punched to before HELLO (nat/punch-routes.ts). */
  learnRoute?(peer: Address, rendezvous: Address[] | undefined): void;
}

export class Discovery {
  /** What the last published record said (address, offer, free space). */
  private lastPublished = '';

  constructor(private readonly components: DiscoveryComponents) {}

  /**
   * Where the peer with `publicKey` is now, from its signed peer record in the DHT.
   * `verified` is true when the peer answered HELLO at that address with that key.
   */
  async findPeer(publicKey: Uint8Array): Promise<(PeerRecord & { verified: boolean }) | null> {
    const { dht, introduce } = this.components;
    const record = await findPeerRecord(dht, publicKey);
    if (!record) return null;
    this.components.learnRoute?.(record, record.rendezvous);
    // No answer (or a bad one) is not an error here: it is what `verified: false` reports.
    const answer = await introduce(record).catch(() => null);
    return { ...record, verified: answer !== null && Buffer.from(answer.publicKey).equals(publicKey) };
  }

  /** Publishes the peer record when what it says has changed. */
  async publishRecord(): Promise<void> {
    const { dht, signing, clock, offer } = this.components;
    const address: Address = dht.address;
    const { offered, free } = offer();
    const rendezvous = this.components.rendezvous?.() ?? [];
    const summary = `${formatAddress(address)}|${offered}|${free}|${rendezvous.map(formatAddress).join(',')}`;
    // A peer bound to a wildcard has no address to publish until it has adopted one.
    if (summary === this.lastPublished || dht.selfAddress().source === 'unknown') return;
    this.lastPublished = summary;
    await publishPeerRecord(dht, signing, { ...address, offered, free, publishedAt: clock.now(), ...(rendezvous.length ? { rendezvous } : {}) });
  }
}
