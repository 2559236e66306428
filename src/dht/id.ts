/**
 * Node IDs and the XOR metric. A node's ID is SHA-1 of the address it is reached at,
 * so anyone can check a claimed ID against the address a packet came from.
 */
import { createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { canonicalIp } from '../util/ip.js';

/** Length of a node ID in bytes (160 bits). */
export const ID_BYTES = 20;
export const ID_BITS = ID_BYTES * 8;

/** A reachable UDP/TCP endpoint. `host` is a literal IPv4 or IPv6 address. */
export interface Address {
  host: string;
  port: number;
}

/** A node we know of: its ID (always SHA-1 of its address) and where it listens. */
export interface Contact extends Address {
  id: Uint8Array;
}

/**
 * Normalises an IP literal to the form Node reports for incoming packets, so the same
 * peer always hashes to the same ID (IPv4-mapped IPv6 becomes plain IPv4, IPv6 per RFC 5952).
 */
export function canonicalHost(host: string): string {
  return canonicalIp(host);
}

/** `host:port`, with IPv6 in brackets: `[::1]:4000`. */
export function formatAddress(address: Address): string {
  const host = canonicalHost(address.host);
  return isIP(host) === 6 ? `[${host}]:${address.port}` : `${host}:${address.port}`;
}

/** Parses `host:port` or `[v6]:port`; throws a readable error on anything else. */
export function parseAddress(text: string): Address {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) throw new Error(`invalid address "${text}": expected host:port or [ipv6]:port`);
  const host = canonicalHost(m[1]!);
  const port = Number(m[2]);
  if (!isIP(host)) throw new Error(`invalid address "${text}": host must be an IP address`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid address "${text}": port out of range`);
  return { host, port };
}

// Every received datagram and every address in a node list is hashed; most repeat.
const ID_CACHE_LIMIT = 8192;
const idCache = new Map<string, Uint8Array>();

/** SHA-1 of the canonical `host:port`: the node ID every peer computes for that address. */
export function nodeIdFromAddress(address: Address): Uint8Array {
  // Keyed on the text as given, so a repeat costs no canonicalisation either.
  const raw = `${address.host}|${address.port}`;
  let id = idCache.get(raw);
  if (!id) {
    id = new Uint8Array(createHash('sha1').update(formatAddress(address)).digest());
    if (idCache.size >= ID_CACHE_LIMIT) idCache.delete(idCache.keys().next().value!);
    idCache.set(raw, id);
  }
  // A copy: callers may keep or modify it without touching the cache.
  return id.slice();
}

export function contactFromAddress(address: Address): Contact {
  const host = canonicalHost(address.host);
  return { id: nodeIdFromAddress({ host, port: address.port }), host, port: address.port };
}

export function idsEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** XOR distance as bytes (big-endian), comparable with `compareBytes`. */
export function xorDistance(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(ID_BYTES);
  for (let i = 0; i < ID_BYTES; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Lexicographic comparison of equal-length byte strings (negative, 0, positive). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Which of `a` and `b` is closer to `target`: negative if `a`. */
export function compareDistance(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const d = (a[i]! ^ target[i]!) - (b[i]! ^ target[i]!);
    if (d !== 0) return d;
  }
  return 0;
}

/** Number of leading bits `a` and `b` share (160 when equal): the bucket index of `b` seen from `a`. */
export function commonPrefixLength(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return ID_BITS;
}

/** A random ID that shares exactly `prefixLength` leading bits with `id` (for bucket refresh). */
export function randomIdInBucket(id: Uint8Array, prefixLength: number): Uint8Array {
  const out = new Uint8Array(randomBytes(ID_BYTES));
  if (prefixLength >= ID_BITS) return Uint8Array.from(id);
  for (let bit = 0; bit <= prefixLength; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    const want = bit < prefixLength ? id[byte]! & mask : ~id[byte]! & mask;
    out[byte] = (out[byte]! & ~mask) | want;
  }
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new Error(`invalid hex string "${hex.slice(0, 16)}..."`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Sorts contacts by distance to `target`, closest first (returns a new array). */
export function sortByDistance<T extends { id: Uint8Array }>(target: Uint8Array, contacts: Iterable<T>): T[] {
  return [...contacts].sort((a, b) => compareDistance(target, a.id, b.id));
}
