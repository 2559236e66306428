/**
 * What the RPC layer needs from a datagram socket. UDP in production; an in-memory network
 * runs the very same RPC and lookup code for simulations of thousands of nodes.
 */
import type { Address } from '../net/address.js';

export interface Transport {
  /** The address peers reach this socket at. */
  readonly address: Address;
  /** Sends one datagram; delivery is not guaranteed (errors are swallowed like lost packets). */
  send(datagram: Uint8Array, to: Address): void;
  /** Sets the one receiver of incoming datagrams. */
  onDatagram(handler: (datagram: Uint8Array, from: Address) => void): void;
  close(): Promise<void>;
}
