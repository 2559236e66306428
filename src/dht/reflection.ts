/**
 * Reflection bounds for addresses that have not proven they are the sender's (docs/security.md,
 * "UDP reflection"). A datagram's source can be forged; whatever we send back goes to the
 * forged address. Like QUIC before address validation, we send at most AMPLIFICATION_LIMIT
 * times the bytes received to an address that is not a verified contact in our routing table,
 * counting the verification PING a stranger's request earns it.
 *
 * Honest requesters keep full answers by padding their requests (QUIC pads its first packet to
 * 1,200 bytes for the same reason): our FIND_NODE, FIND_VALUE and HELLO carry a `pad` field
 * big enough that the largest answer fits within 3x. An unpadded request from a stranger (an
 * attacker, or an older peer) gets a trimmed answer: fewer contacts, no value, and for HELLO
 * none at all until the verification PING it also earns has proven the address (its
 * retransmit is then answered in full).
 */
import type { MessageSpec } from '../wire/codec.js';
import { encodeMessage } from '../wire/codec.js';

/** Most bytes sent to an unproven address per byte received from it (QUIC: RFC 9000 §8). */
export const AMPLIFICATION_LIMIT = 3;
/** Bytes of the verification PING a request from a stranger earns it (measured: 44). */
export const VERIFY_PING_BYTES = 44;
/** The smallest FIND_NODE / FIND_VALUE / HELLO datagram without padding (measured: 65–73). */
export const MIN_REQUEST_BYTES = 65;
/**
 * Padding of our own requests (bytes): a NODES of 20 IPv6 contacts (~420 bytes), a VALUE of the
 * largest signed record (~1,100), a HELLO_REPLY (~170), each plus the verification PING, fit in
 * 3x the padded request (checked in test/dht-parts.test.ts). Costs ~100–340 bytes per lookup query.
 */
export const REQUEST_PAD_BYTES = { FIND_NODE: 100, FIND_VALUE: 340, HELLO: 16 } as const;

/** What we may send back to an unproven address for a request of `requestBytes`. */
export function replyBudget(requestBytes: number): number {
  return AMPLIFICATION_LIMIT * requestBytes - VERIFY_PING_BYTES;
}

/** The longest observed address a reply carries (`ip`: IPv6, 18 bytes). */
const WIDEST_OBSERVED = { host: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', port: 65535 };

/** The size of `body` encoded as a reply of `spec` (transaction ID, sender ID and the widest `ip` included). */
export function replyBytes<B>(spec: MessageSpec<B>, body: B): number {
  return encodeMessage(spec, new Uint8Array(8), new Uint8Array(20), body, { observed: WIDEST_OBSERVED }).length;
}

/** A request's size as the handler can know it: the smallest unpadded one plus its padding. */
export function requestBytes(padded: number | undefined): number {
  return MIN_REQUEST_BYTES + (padded ?? 0);
}

/** Whether `body` as a reply of `spec` fits the reflection budget of a request with `padded` bytes of padding. */
export function fitsReflectionBudget<B>(spec: MessageSpec<B>, body: B, padded: number | undefined): boolean {
  return replyBytes(spec, body) <= replyBudget(requestBytes(padded));
}
