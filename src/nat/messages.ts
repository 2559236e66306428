/**
 * The reachability check's messages (AutoNAT-style dial-back). docs/protocol.md describes each.
 *
 * - DIAL_BACK (request): "dial me back": a nonce, and optionally the address to dial, which must
 *   be on the host the request came from (anything else is refused and counted).
 * - DIAL_BACK_RESULT (answer): whether the UDP probe went out and whether a TCP connection to
 *   the address succeeded; both were made from ports the requester has never sent to.
 * - DIAL_PROBE (read-only request, never answered): the UDP dial-back itself, with the nonce.
 */
import { defineMessage } from '../wire/codec.js';
import { MessageType } from '../wire/message-types.js';
import { packAddresses, unpackAddresses } from '../wire/addresses.js';
import type { Address } from '../net/address.js';

export const NONCE_BYTES = 8;

/** ERROR codes of a refused DIAL_BACK. */
export const DialBackRefusal = {
  /** The address to dial is not on the host the request came from. */
  THIRD_PARTY: 40,
  /** Too many dial-backs for this requester's network, or in total, right now. */
  RATE_LIMITED: 41,
} as const;

export interface DialBackBody {
  nonce: Uint8Array;
  /** Where to dial; default: the address the request came from. */
  to?: Address;
}

export interface DialBackResultBody {
  /** The UDP probe was sent (whether it arrived is for the requester to see). */
  udp: boolean;
  /** A TCP connection to the address was accepted. */
  tcp: boolean;
}

export const DialBack = defineMessage<DialBackBody>({
  type: MessageType.DIAL_BACK,
  name: 'DIAL_BACK',
  isResponse: false,
  encode: (b) => {
    if (!b.to) return { n: b.nonce };
    const { v4, v6 } = packAddresses([b.to]);
    return { n: b.nonce, to: v4.length ? v4 : v6 };
  },
  decode: (f) => {
    const nonce = f.bytes('n', NONCE_BYTES);
    const to = f.optionalBytes('to', { min: 6, max: 18 });
    if (!to) return { nonce };
    // unpackAddresses refuses other lengths, port 0 and unspecified addresses.
    return { nonce, to: unpackAddresses(to, to.length === 6 ? 4 : 6, 1)[0]! };
  },
});

export const DialBackResult = defineMessage<DialBackResultBody>({
  type: MessageType.DIAL_BACK_RESULT,
  name: 'DIAL_BACK_RESULT',
  isResponse: true,
  encode: (b) => ({ udp: b.udp, tcp: b.tcp }),
  decode: (f) => ({ udp: f.boolean('udp'), tcp: f.boolean('tcp') }),
});

export const DialProbe = defineMessage<{ nonce: Uint8Array }>({
  type: MessageType.DIAL_PROBE,
  name: 'DIAL_PROBE',
  isResponse: false,
  encode: (b) => ({ n: b.nonce }),
  decode: (f) => ({ nonce: f.bytes('n', NONCE_BYTES) }),
});
