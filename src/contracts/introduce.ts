/**
 * The port through which negotiation learns who answers at an address: the peer's key and its
 * storage offer, checked by whoever implements it (src/peer/hello.ts signs them over a fresh
 * challenge). Contracts declare it here so they need nothing from src/peer.
 */
import type { Address } from '../net/address.js';

/** Who a peer says it is, and what it offers. */
export interface Introduction {
  publicKey: Uint8Array;
  /** Bytes the peer offers to store for others. */
  offered: number;
  /** Of those, bytes not yet promised. */
  free: number;
}

/** Asks `address` who it is; rejects if it does not answer or its answer does not verify. */
export type Introduce = (address: Address) => Promise<Introduction>;
