/**
 * HELLO: who is at this address? The answer carries the peer's public key and storage
 * offer, signed over the asker's random challenge and the answering address, so the asker
 * knows the key is really held by whoever answers at that address right now.
 */
import { defineMessage } from '../wire/codec.js';
import { MAX_PAD_BYTES } from '../dht/messages.js';
import { REQUEST_PAD_BYTES } from '../dht/reflection.js';
import { MessageType } from '../wire/message-types.js';
import { type Address, formatAddress } from '../net/address.js';
import { signEd25519, type SigningKeyPair, verifyEd25519 } from '../crypto/ed25519.js';

export const CHALLENGE_BYTES = 16;

export const Hello = defineMessage<{ challenge: Uint8Array; padded?: number }>({
  type: MessageType.HELLO,
  name: 'HELLO',
  isResponse: false,
  // Padded so the signed answer stays within 3x of the request (dht/reflection.ts).
  encode: (b) => ({ ch: b.challenge, pad: new Uint8Array(REQUEST_PAD_BYTES.HELLO) }),
  decode: (f) => ({ challenge: f.bytes('ch', CHALLENGE_BYTES), padded: f.optionalBytes('pad', { max: MAX_PAD_BYTES })?.length ?? 0 }),
});

export interface HelloInfo {
  publicKey: Uint8Array;
  /** Bytes the peer offers to store for others. */
  offered: number;
  /** Of those, bytes not yet promised. */
  free: number;
}

export const HelloReply = defineMessage<HelloInfo & { signature: Uint8Array }>({
  type: MessageType.HELLO_REPLY,
  name: 'HELLO_REPLY',
  isResponse: true,
  encode: (b) => ({ pk: b.publicKey, off: b.offered, free: b.free, sig: b.signature }),
  decode: (f) => ({ publicKey: f.bytes('pk', 32), offered: f.uint('off'), free: f.uint('free'), signature: f.bytes('sig', 64) }),
});

function payload(challenge: Uint8Array, address: Address, offered: number, free: number): Uint8Array {
  const addr = Buffer.from(formatAddress(address));
  const out = Buffer.alloc(12 + CHALLENGE_BYTES + 1 + addr.length + 16);
  let off = out.write('dbs-hello-v1');
  off += Buffer.from(challenge).copy(out, off);
  out[off++] = addr.length;
  off += addr.copy(out, off);
  out.writeBigUInt64BE(BigInt(offered), off);
  out.writeBigUInt64BE(BigInt(free), off + 8);
  return out;
}

export function signHello(keys: SigningKeyPair, challenge: Uint8Array, self: Address, offered: number, free: number): Uint8Array {
  return signEd25519(keys, payload(challenge, self, offered, free));
}

export function verifyHello(reply: HelloInfo & { signature: Uint8Array }, challenge: Uint8Array, address: Address): boolean {
  return verifyEd25519(reply.publicKey, payload(challenge, address, reply.offered, reply.free), reply.signature);
}
