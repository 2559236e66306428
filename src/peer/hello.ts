/**
 * HELLO: who is at this address? The answer carries the peer's public key and storage
 * offer, signed over the asker's random challenge and the answering address, so the asker
 * knows the key is really held by whoever answers at that address right now. Both sides live
 * here: `answerHello` (the handler) and `helloClient` (the `Introduce` port contracts use).
 */
import { randomBytes } from 'node:crypto';
import { defineMessage } from '../wire/codec.js';
import { MAX_PAD_BYTES } from '../dht/messages.js';
import { fitsReflectionBudget, REQUEST_PAD_BYTES } from '../dht/reflection.js';
import type { Contact } from '../net/node-id.js';
import { MessageType } from '../wire/message-types.js';
import { type Address, formatAddress } from '../net/address.js';
import { signEd25519, type SigningKeyPair, verifyEd25519 } from '../crypto/ed25519.js';
import type { RpcEndpoint } from '../rpc/rpc.js';
import type { Introduce, Introduction } from '../contracts/introduce.js';

export const CHALLENGE_BYTES = 16;

export const Hello = defineMessage<{ challenge: Uint8Array; padded?: number }>({
  type: MessageType.HELLO,
  name: 'HELLO',
  isResponse: false,
  // Padded so the signed answer stays within 3x of the request (dht/reflection.ts).
  encode: (b) => ({ ch: b.challenge, pad: new Uint8Array(REQUEST_PAD_BYTES.HELLO) }),
  decode: (f) => ({ challenge: f.bytes('ch', CHALLENGE_BYTES), padded: f.optionalBytes('pad', { max: MAX_PAD_BYTES })?.length ?? 0 }),
});

/** What a HELLO answer says: the peer's key, what it offers and what of that is free. */
export type HelloInfo = Introduction;

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

/** The asking side: HELLO with a fresh challenge, and the signed answer verified. */
export function helloClient(rpc: Pick<RpcEndpoint, 'request'>): Introduce {
  return async (address) => {
    const challenge = new Uint8Array(randomBytes(CHALLENGE_BYTES));
    const { body } = await rpc.request(address, Hello, { challenge }, HelloReply);
    if (!verifyHello(body, challenge, address)) throw new Error(`${formatAddress(address)} sent a HELLO reply with a bad signature`);
    return { publicKey: body.publicKey, offered: body.offered, free: body.free };
  };
}

/**
 * The answering side: registers the HELLO handler on `rpc`. `offer` is read at each request,
 * so the answer always shows the space free right now.
 */
export function answerHello(
  rpc: Pick<RpcEndpoint, 'handle'>,
  keys: SigningKeyPair,
  /** Our address as others reach it, read per answer: a peer behind NAT learns it later (src/dht/self-address.ts). */
  self: () => Address,
  offer: () => { offered: number; free: number },
  /** Whether the asker is a verified contact at that address (dht/reflection.ts); absent: all are. */
  isProven: (from: Contact) => boolean = () => true,
): void {
  rpc.handle(Hello, (body, from) => {
    const { offered, free } = offer();
    const reply = { publicKey: keys.publicKey, offered, free, signature: signHello(keys, body.challenge, self(), offered, free) };
    // An unpadded HELLO from an unproven address gets no answer (it would reflect more than 3x);
    // the verification PING it earns proves an honest sender, whose retransmit is answered.
    if (!isProven(from) && !fitsReflectionBudget(HelloReply, reply, body.padded)) return undefined;
    return { spec: HelloReply, body: reply };
  });
}
