/**
 * Rendezvous and hole-punching messages (docs/protocol.md, rows 43-52; docs/nat-traversal.md):
 *
 * - REGISTER (NATed peer → rendezvous, its keepalive): "pass punch requests for me on". Carries
 *   the cookie of the last REGISTERED, which proves the registrant receives at its address; a
 *   registration is taken only with a valid cookie.
 * - REGISTERED (answer): `ok` (registered, for `ttl` ms) and a fresh cookie.
 * - PUNCH_REQUEST (peer A → B's rendezvous R): B's address and a nonce; a cookie once R asked A to
 *   prove its own address.
 * - PUNCH_READY (answer): B's address as R sees it (B was told and answered), or only a cookie
 *   (send the request again with it).
 * - PUNCH_NOTIFY (R → B, over B's registration): A's address (as R saw it) and the nonce.
 * - PUNCH_NOTIFIED (answer): B starts punching.
 * - PUNCH (A ↔ B, each to the other's address): the nonce; answered with PUNCH_ACK only by a peer
 *   with a punch under way with that nonce and that address.
 * - TCP_PUNCH (A → B over the punched UDP path): "connect to me from your side at once": the local
 *   TCP port A connects from (its external one on a port-preserving NAT); answered TCP_PUNCH_READY
 *   with B's port, and both start a TCP simultaneous open (tcp-puncher.ts).
 */
import type { Address } from '../net/address.js';
import { defineMessage } from '../wire/codec.js';
import { type Fields, MalformedMessageError } from '../wire/fields.js';
import { MessageType } from '../wire/message-types.js';
import { packAddresses, unpackAddresses } from '../wire/addresses.js';
import { COOKIE_BYTES } from '../contracts/address-cookies.js';

/** Bytes of a punch nonce. */
export const PUNCH_NONCE_BYTES = 8;

/** ERROR codes of a refused REGISTER or PUNCH_REQUEST (40, 41 are DIAL_BACK's). */
export const RendezvousRefusal = {
  /** We are not reachable ourselves (client-only): no use as a rendezvous. */
  NOT_RENDEZVOUS: 43,
  /** The registration table is full. */
  TABLE_FULL: 44,
  /** Too many requests from this prefix, for this target, or in total. */
  RATE_LIMITED: 45,
  /** The target is not registered with us (we only ever send to registered peers). */
  NOT_REGISTERED: 46,
  /** The target did not answer PUNCH_NOTIFY. */
  TARGET_SILENT: 47,
  /** TCP_PUNCH from a peer with no punched UDP path to us, or too many under way. */
  TCP_PUNCH_REFUSED: 48,
} as const;

function packOne(a: Address): Uint8Array {
  const { v4, v6 } = packAddresses([a]);
  return v4.length ? v4 : v6;
}

function unpackOne(f: Fields, key: string): Address {
  const bytes = f.bytes(key, { min: 6, max: 18 });
  // unpackAddresses refuses other lengths, port 0 and unspecified addresses.
  return unpackAddresses(bytes, bytes.length === 6 ? 4 : 6, 1)[0]!;
}

export interface RegisterBody {
  cookie?: Uint8Array;
}

export const Register = defineMessage<RegisterBody>({
  type: MessageType.REGISTER,
  name: 'REGISTER',
  isResponse: false,
  encode: (b) => (b.cookie ? { ck: b.cookie } : {}),
  decode: (f) => {
    const cookie = f.optionalBytes('ck', COOKIE_BYTES);
    return cookie ? { cookie } : {};
  },
});

export interface RegisteredBody {
  /** The registration is in force (false: send REGISTER again with `cookie`). */
  ok: boolean;
  /** ms the registration lasts without another REGISTER. */
  ttlMs: number;
  cookie: Uint8Array;
}

export const Registered = defineMessage<RegisteredBody>({
  type: MessageType.REGISTERED,
  name: 'REGISTERED',
  isResponse: true,
  encode: (b) => ({ ok: b.ok, ttl: b.ttlMs, ck: b.cookie }),
  decode: (f) => ({ ok: f.boolean('ok'), ttlMs: f.uint('ttl', 3_600_000), cookie: f.bytes('ck', COOKIE_BYTES) }),
});

export interface PunchRequestBody {
  target: Address;
  nonce: Uint8Array;
  cookie?: Uint8Array;
}

export const PunchRequest = defineMessage<PunchRequestBody>({
  type: MessageType.PUNCH_REQUEST,
  name: 'PUNCH_REQUEST',
  isResponse: false,
  encode: (b) => ({ to: packOne(b.target), n: b.nonce, ...(b.cookie ? { ck: b.cookie } : {}) }),
  decode: (f) => {
    const cookie = f.optionalBytes('ck', COOKIE_BYTES);
    return { target: unpackOne(f, 'to'), nonce: f.bytes('n', PUNCH_NONCE_BYTES), ...(cookie ? { cookie } : {}) };
  },
});

/** Either `target` (B was told) or `cookie` alone (prove your address: ask again with it). */
export interface PunchReadyBody {
  target?: Address;
  cookie?: Uint8Array;
}

export const PunchReady = defineMessage<PunchReadyBody>({
  type: MessageType.PUNCH_READY,
  name: 'PUNCH_READY',
  isResponse: true,
  encode: (b) => ({ ...(b.target ? { to: packOne(b.target) } : {}), ...(b.cookie ? { ck: b.cookie } : {}) }),
  decode: (f) => {
    const cookie = f.optionalBytes('ck', COOKIE_BYTES);
    const target = f.has('to') ? unpackOne(f, 'to') : undefined;
    return { ...(target ? { target } : {}), ...(cookie ? { cookie } : {}) };
  },
});

export interface PunchNotifyBody {
  peer: Address;
  nonce: Uint8Array;
}

export const PunchNotify = defineMessage<PunchNotifyBody>({
  type: MessageType.PUNCH_NOTIFY,
  name: 'PUNCH_NOTIFY',
  isResponse: false,
  encode: (b) => ({ peer: packOne(b.peer), n: b.nonce }),
  decode: (f) => ({ peer: unpackOne(f, 'peer'), nonce: f.bytes('n', PUNCH_NONCE_BYTES) }),
});

export const PunchNotified = defineMessage<{ nonce: Uint8Array }>({
  type: MessageType.PUNCH_NOTIFIED,
  name: 'PUNCH_NOTIFIED',
  isResponse: true,
  encode: (b) => ({ n: b.nonce }),
  decode: (f) => ({ nonce: f.bytes('n', PUNCH_NONCE_BYTES) }),
});

export const Punch = defineMessage<{ nonce: Uint8Array }>({
  type: MessageType.PUNCH,
  name: 'PUNCH',
  isResponse: false,
  encode: (b) => ({ n: b.nonce }),
  decode: (f) => ({ nonce: f.bytes('n', PUNCH_NONCE_BYTES) }),
});

export const PunchAck = defineMessage<{ nonce: Uint8Array }>({
  type: MessageType.PUNCH_ACK,
  name: 'PUNCH_ACK',
  isResponse: true,
  encode: (b) => ({ n: b.nonce }),
  decode: (f) => ({ nonce: f.bytes('n', PUNCH_NONCE_BYTES) }),
});

export interface TcpPunchBody {
  nonce: Uint8Array;
  /** The TCP port the sender connects from (and, on a port-preserving NAT, is seen at). */
  port: number;
}

const tcpPunchFields = {
  encode: (b: TcpPunchBody) => ({ n: b.nonce, tp: b.port }),
  decode: (f: Fields): TcpPunchBody => {
    const port = f.uint('tp', 65535);
    if (port === 0) throw new MalformedMessageError('field "tp" must be a port (1-65535)');
    return { nonce: f.bytes('n', PUNCH_NONCE_BYTES), port };
  },
};

export const TcpPunch = defineMessage<TcpPunchBody>({ type: MessageType.TCP_PUNCH, name: 'TCP_PUNCH', isResponse: false, ...tcpPunchFields });

export const TcpPunchReady = defineMessage<TcpPunchBody>({ type: MessageType.TCP_PUNCH_READY, name: 'TCP_PUNCH_READY', isResponse: true, ...tcpPunchFields });
