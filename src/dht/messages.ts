/**
 * The DHT's messages: PING/PONG, FIND_NODE/NODES, FIND_VALUE/VALUE, STORE/STORED and ERROR.
 * docs/protocol.md describes each one; keep the two in step.
 */
import { REQUEST_PAD_BYTES } from './reflection.js';
import { defineMessage } from '../wire/codec.js';
import { MessageType } from '../wire/message-types.js';
import { type Fields, MalformedMessageError } from '../wire/fields.js';
import { packAddresses, unpackAddresses } from '../wire/addresses.js';
import type { Address } from '../net/address.js';
import { ID_BYTES } from '../net/node-id.js';
import { type DhtRecord, MAX_SALT_BYTES, MAX_VALUE_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './records.js';

/** Most contacts one NODES or VALUE reply carries (k). */
export const MAX_NODES_PER_REPLY = 20;
/** Largest `pad` field a request may carry (a datagram is at most 1,200 bytes anyway). */
export const MAX_PAD_BYTES = 1024;
export const TOKEN_BYTES = 8;
/** Longest lifetime a STORE may ask for: one day. */
export const MAX_TTL_SECONDS = 86_400;

export { MessageType } from '../wire/message-types.js';

/** Codes a node puts in the ERROR reply (see src/rpc) when it refuses a STORE. */
export const ErrorCode = {
  BAD_SIGNATURE: 2,
  SEQ_TOO_LOW: 3,
  KEY_MISMATCH: 4,
  VALUE_TOO_LARGE: 5,
  STORE_FULL: 6,
  SEQ_CONFLICT: 7,
  BAD_TOKEN: 8,
  MISSING_FIELDS: 9,
} as const;

export interface FindNodeBody {
  target: Uint8Array;
  /** Bytes of padding the request carried (decoded only; see reflection.ts). */
  padded?: number;
}
export interface FindValueBody {
  key: Uint8Array;
  /** Bytes of padding the request carried (decoded only; see reflection.ts). */
  padded?: number;
}
export interface NodesBody {
  nodes: Address[];
  token: Uint8Array;
}
export interface ValueBody {
  nodes: Address[];
  token: Uint8Array;
  record?: DhtRecord;
}
export interface StoreBody {
  key: Uint8Array;
  token: Uint8Array;
  ttl: number;
  record: DhtRecord;
}

const empty = { encode: () => ({}), decode: () => ({}) };

function encodeNodes(nodes: Address[]): Record<string, unknown> {
  const { v4, v6 } = packAddresses(nodes);
  return { n4: v4.length ? v4 : undefined, n6: v6.length ? v6 : undefined };
}

function decodeNodes(f: Fields): Address[] {
  const v4 = f.optionalBytes('n4', { max: MAX_NODES_PER_REPLY * 6 });
  const v6 = f.optionalBytes('n6', { max: MAX_NODES_PER_REPLY * 18 });
  return [...(v4 ? unpackAddresses(v4, 4, MAX_NODES_PER_REPLY) : []), ...(v6 ? unpackAddresses(v6, 6, MAX_NODES_PER_REPLY) : [])];
}

function encodeRecord(r: DhtRecord): Record<string, unknown> {
  return { val: r.value, pk: r.publicKey, sig: r.signature, seq: r.seq, salt: r.salt && r.salt.length ? r.salt : undefined };
}

function decodeRecord(f: Fields): DhtRecord {
  const record: DhtRecord = { value: f.bytes('val', { max: MAX_VALUE_BYTES }) };
  const publicKey = f.optionalBytes('pk', PUBLIC_KEY_BYTES);
  if (publicKey) {
    record.publicKey = publicKey;
    record.signature = f.bytes('sig', SIGNATURE_BYTES);
    record.seq = f.uint('seq');
    const salt = f.optionalBytes('salt', { max: MAX_SALT_BYTES });
    if (salt) record.salt = salt;
  }
  return record;
}

export const Ping = defineMessage<Record<string, never>>({ type: MessageType.PING, name: 'PING', isResponse: false, ...empty });
export const Pong = defineMessage<Record<string, never>>({ type: MessageType.PONG, name: 'PONG', isResponse: true, ...empty });

export const FindNode = defineMessage<FindNodeBody>({
  type: MessageType.FIND_NODE,
  name: 'FIND_NODE',
  isResponse: false,
  // Padded so that a full NODES answer stays within 3x of the request (reflection.ts).
  encode: (b) => ({ target: b.target, pad: new Uint8Array(REQUEST_PAD_BYTES.FIND_NODE) }),
  decode: (f) => ({ target: f.bytes('target', ID_BYTES), padded: f.optionalBytes('pad', { max: MAX_PAD_BYTES })?.length ?? 0 }),
});

export const Nodes = defineMessage<NodesBody>({
  type: MessageType.NODES,
  name: 'NODES',
  isResponse: true,
  encode: (b) => ({ ...encodeNodes(b.nodes), tok: b.token }),
  decode: (f) => ({ nodes: decodeNodes(f), token: f.bytes('tok', TOKEN_BYTES) }),
});

export const FindValue = defineMessage<FindValueBody>({
  type: MessageType.FIND_VALUE,
  name: 'FIND_VALUE',
  isResponse: false,
  encode: (b) => ({ key: b.key, pad: new Uint8Array(REQUEST_PAD_BYTES.FIND_VALUE) }),
  decode: (f) => ({ key: f.bytes('key', ID_BYTES), padded: f.optionalBytes('pad', { max: MAX_PAD_BYTES })?.length ?? 0 }),
});

export const Value = defineMessage<ValueBody>({
  type: MessageType.VALUE,
  name: 'VALUE',
  isResponse: true,
  encode: (b) => ({ ...(b.record ? encodeRecord(b.record) : encodeNodes(b.nodes)), tok: b.token }),
  decode: (f) => {
    const body: ValueBody = { nodes: decodeNodes(f), token: f.bytes('tok', TOKEN_BYTES) };
    if (f.has('val')) body.record = decodeRecord(f);
    return body;
  },
});

export const Store = defineMessage<StoreBody>({
  type: MessageType.STORE,
  name: 'STORE',
  isResponse: false,
  encode: (b) => ({ key: b.key, tok: b.token, ttl: b.ttl, ...encodeRecord(b.record) }),
  decode: (f) => ({
    key: f.bytes('key', ID_BYTES),
    token: f.bytes('tok', TOKEN_BYTES),
    ttl: f.uint('ttl', MAX_TTL_SECONDS) || fail('ttl must be at least 1 second'),
    record: decodeRecord(f),
  }),
});

export const Stored = defineMessage<Record<string, never>>({ type: MessageType.STORED, name: 'STORED', isResponse: true, ...empty });

function fail(reason: string): never {
  throw new MalformedMessageError(reason);
}
