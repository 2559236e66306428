/**
 * The datagram envelope and the message registry. One msgpack map per datagram:
 * `v` version, `t` type, `x` transaction ID, `id` sender's node ID, then the body's fields.
 * Two optional envelope fields serve NAT traversal: `ip` on a response is the address the
 * request came from as the responder saw it (BEP 42's `ip`: how peers learn their external
 * address), and `ro` (true) on a request marks a read-only sender (BEP 43: a client that does
 * not know its reachable address yet, so its claimed ID cannot be checked).
 * Each message type registers how its body is encoded and validated; decoding checks
 * the envelope, then the body, and throws MalformedMessageError on anything off.
 */
import { Packr, Unpackr } from 'msgpackr';
import { ID_BYTES } from '../net/node-id.js';
import type { Address } from '../net/address.js';
import { packAddresses, unpackAddresses } from './addresses.js';
import { Fields, MalformedMessageError } from './fields.js';

export { MalformedMessageError } from './fields.js';

export const PROTOCOL_VERSION = 1;
/** Largest datagram we send or accept: fits the IPv6 minimum MTU with room for headers. */
export const MAX_DATAGRAM_BYTES = 1200;
export const TXID_BYTES = 8;

const RESERVED = new Set(['v', 't', 'x', 'id', 'ip', 'ro']);

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
  /** On a response: where the responder saw our request come from (`ip`). */
  observed?: Address;
  /** On a request: the sender is read-only (`ro`); its claimed ID is not checked. */
  readOnly: boolean;
}

/** The optional envelope fields a sender adds. */
export interface EnvelopeExtras {
  /** Responses only: the address the request came from. */
  observed?: Address;
  /** Requests only: we are a read-only (client-only) node. */
  readOnly?: boolean;
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
export function encodeMessage<B>(spec: MessageSpec<B>, txid: Uint8Array, senderId: Uint8Array, body: B, extras: EnvelopeExtras = {}): Uint8Array {
  const fields = spec.encode(body);
  const map: Record<string, unknown> = { v: PROTOCOL_VERSION, t: spec.type, x: txid, id: senderId };
  if (extras.observed && spec.isResponse) map.ip = packObserved(extras.observed);
  if (extras.readOnly && !spec.isResponse) map.ro = true;
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
  const envelope: Envelope = { spec, type, txid, senderId, body, readOnly: false };
  if (fields.has('ip')) {
    if (!spec.isResponse) throw new MalformedMessageError('"ip" is only allowed on a response');
    const ip = fields.bytes('ip', { min: OBSERVED_V4, max: OBSERVED_V6 });
    if (ip.length !== OBSERVED_V4 && ip.length !== OBSERVED_V6) throw new MalformedMessageError(`field "ip" has bad length ${ip.length}`);
    // unpackAddresses refuses port 0 and unspecified addresses.
    envelope.observed = unpackAddresses(ip, ip.length === OBSERVED_V4 ? 4 : 6, 1)[0]!;
  }
  if (fields.has('ro')) {
    if (spec.isResponse) throw new MalformedMessageError('"ro" is only allowed on a request');
    if (fields.boolean('ro') !== true) throw new MalformedMessageError('"ro" must be true when present');
    envelope.readOnly = true;
  }
  return envelope;
}

const OBSERVED_V4 = 6;
const OBSERVED_V6 = 18;

function packObserved(address: Address): Uint8Array {
  const { v4, v6 } = packAddresses([address]);
  if (v4.length === 0 && v6.length === 0) throw new Error(`observed address ${address.host} is not an IP address`);
  return v4.length ? v4 : v6;
}
