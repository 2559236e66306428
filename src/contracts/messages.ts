/**
 * Contract negotiation over UDP: PROPOSE (owner → host) answered by ACCEPT or REJECT, and
 * CANCEL (either party → the other) answered by CANCELLED. docs/protocol.md describes them.
 */
import { defineMessage } from '../wire/codec.js';
import { MessageType } from '../wire/message-types.js';
import { COOKIE_BYTES } from './address-cookies.js';

/** Longest canonical terms accepted on the wire (they are about 230 bytes). */
export const MAX_TERMS_BYTES = 400;

/** `cookie`: sent back from an ADDRESS_UNPROVEN refusal (address-cookies.ts). */
export const Propose = defineMessage<{ terms: Uint8Array; ownerSignature: Uint8Array; cookie?: Uint8Array }>({
  type: MessageType.PROPOSE,
  name: 'CONTRACT_PROPOSE',
  isResponse: false,
  encode: (b) => ({ terms: b.terms, osig: b.ownerSignature, ck: b.cookie }),
  decode: (f) => {
    const cookie = f.optionalBytes('ck', COOKIE_BYTES);
    return { terms: f.bytes('terms', { max: MAX_TERMS_BYTES }), ownerSignature: f.bytes('osig', 64), ...(cookie ? { cookie } : {}) };
  },
});

export const Accept = defineMessage<{ contractId: Uint8Array; hostSignature: Uint8Array }>({
  type: MessageType.ACCEPT,
  name: 'CONTRACT_ACCEPT',
  isResponse: true,
  encode: (b) => ({ cid: b.contractId, hsig: b.hostSignature }),
  decode: (f) => ({ contractId: f.bytes('cid', 32), hostSignature: f.bytes('hsig', 64) }),
});

/** `cookie`: with ADDRESS_UNPROVEN, what the proposer must send back to prove its address. */
export const Reject = defineMessage<{ contractId: Uint8Array; reason: number; cookie?: Uint8Array }>({
  type: MessageType.REJECT,
  name: 'CONTRACT_REJECT',
  isResponse: true,
  encode: (b) => ({ cid: b.contractId, why: b.reason, ck: b.cookie }),
  decode: (f) => {
    const cookie = f.optionalBytes('ck', COOKIE_BYTES);
    return { contractId: f.bytes('cid', 32), reason: f.uint('why', 255), ...(cookie ? { cookie } : {}) };
  },
});

/** Contracts a CONTRACT_CANCEL may cancel besides `cid` (`more`): 16 keeps it under ~800 bytes. */
export const CANCEL_MORE_MAX = 16;

/**
 * `more` + `msig`: more contracts with the same counterpart cancelled at once (a prune), `msig`
 * over all of them. A receiver that does not know these fields cancels `cid` alone and answers
 * without `more`; the sender then cancels the rest one by one.
 */
export const Cancel = defineMessage<{ contractId: Uint8Array; signature: Uint8Array; more?: Uint8Array[]; manySignature?: Uint8Array }>({
  type: MessageType.CANCEL,
  name: 'CONTRACT_CANCEL',
  isResponse: false,
  encode: (b) => ({ cid: b.contractId, sig: b.signature, more: b.more, msig: b.manySignature }),
  decode: (f) => {
    const more = f.has('more') ? f.bytesList('more', 32, CANCEL_MORE_MAX) : undefined;
    const manySignature = f.optionalBytes('msig', 64);
    return { contractId: f.bytes('cid', 32), signature: f.bytes('sig', 64), ...(more ? { more } : {}), ...(manySignature ? { manySignature } : {}) };
  },
});

/** `more`: which of the CANCEL's `more` the receiver knew and cancelled (or had ended already). */
export const Cancelled = defineMessage<{ contractId: Uint8Array; more?: Uint8Array[] }>({
  type: MessageType.CANCELLED,
  name: 'CONTRACT_CANCELLED',
  isResponse: true,
  encode: (b) => ({ cid: b.contractId, more: b.more }),
  decode: (f) => {
    const more = f.has('more') ? f.bytesList('more', 32, CANCEL_MORE_MAX) : undefined;
    return { contractId: f.bytes('cid', 32), ...(more ? { more } : {}) };
  },
});
