/**
 * The datagram envelope and the message registry. One msgpack map per datagram:
 * `v` version, `t` type, `x` transaction ID, `id` sender's node ID, then the body's fields.
 * Each message type registers how its body is encoded and validated; decoding checks
 * the envelope, then the body, and throws MalformedMessageError on anything off.
 */
import { Packr, Unpackr } from 'msgpackr';
import { ID_BYTES } from '../net/node-id.js';
import { Fields, MalformedMessageError } from './fields.js';

export { MalformedMessageError } from './fields.js';

export const PROTOCOL_VERSION = 1;
/** Largest datagram we send or accept: fits the IPv6 minimum MTU with room for headers. */
export const MAX_DATAGRAM_BYTES = 1200;
export const TXID_BYTES = 8;

const RESERVED = new Set(['v', 't', 'x', 'id']);

export interface MessageSpec<B> {
  /** Numeric type carried in `t`. */
  readonly type: number;
  readonly name: string;
  /** True for messages that answer a request (matched by transaction ID). */
  readonly isResponse: boolean;
  encode(body: B): Record<string, unknown>;
  decode(fields: Fields): B;
}

/** A decoded, validated datagram. */
export interface Envelope<B = unknown> {
  spec: MessageSpec<B>;
  type: number;
  txid: Uint8Array;
  /** The node ID the sender claims; the RPC layer checks it against the source address. */
  senderId: Uint8Array;
  body: B;
}

const registry = new Map<number, MessageSpec<unknown>>();

/** Adds a message type to the wire format. Types are unique across the whole protocol. */
export function defineMessage<B>(spec: MessageSpec<B>): MessageSpec<B> {
  if (!Number.isInteger(spec.type) || spec.type < 1 || spec.type > 255) throw new Error(`message type ${spec.type} out of range`);
  const existing = registry.get(spec.type);
  if (existing && existing.name !== spec.name) throw new Error(`message type ${spec.type} already defined as ${existing.name}`);
  registry.set(spec.type, spec as MessageSpec<unknown>);
  return spec;
}

export function messageSpec(type: number): MessageSpec<unknown> | undefined {
  return registry.get(type);
}

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

export class OversizedMessageError extends Error {
  constructor(name: string, size: number) {
    super(`${name} message is ${size} bytes, over the ${MAX_DATAGRAM_BYTES}-byte datagram limit`);
    this.name = 'OversizedMessageError';
  }
}

/** Encodes one message; throws OversizedMessageError if it would not fit one datagram. */
export function encodeMessage<B>(spec: MessageSpec<B>, txid: Uint8Array, senderId: Uint8Array, body: B): Uint8Array {
  const fields = spec.encode(body);
  const map: Record<string, unknown> = { v: PROTOCOL_VERSION, t: spec.type, x: txid, id: senderId };
  for (const [k, val] of Object.entries(fields)) {
    if (RESERVED.has(k)) throw new Error(`${spec.name} body uses reserved field "${k}"`);
    if (val !== undefined) map[k] = val;
  }
  const out = packr.pack(map);
  if (out.length > MAX_DATAGRAM_BYTES) throw new OversizedMessageError(spec.name, out.length);
  return out;
}

/** Decodes and validates one datagram. Never returns partially checked data. */
export function decodeMessage(datagram: Uint8Array): Envelope {
  if (datagram.length > MAX_DATAGRAM_BYTES) throw new MalformedMessageError(`datagram of ${datagram.length} bytes is over the limit`);
  if (datagram.length === 0) throw new MalformedMessageError('empty datagram');
  let raw: unknown;
  try {
    raw = unpackr.unpack(datagram);
  } catch {
    throw new MalformedMessageError('not valid msgpack');
  }
  const fields = new Fields(raw);
  const version = fields.uint('v', 255);
  if (version !== PROTOCOL_VERSION) throw new MalformedMessageError(`unsupported protocol version ${version}`);
  const type = fields.uint('t', 255);
  const spec = registry.get(type);
  if (!spec) throw new MalformedMessageError(`unknown message type ${type}`);
  const txid = fields.bytes('x', TXID_BYTES);
  const senderId = fields.bytes('id', ID_BYTES);
  const body = spec.decode(fields);
  return { spec, type, txid, senderId, body };
}
