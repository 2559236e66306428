/**
 * Node IDs: SHA-1 of the address a node is reached at, so anyone can check a claimed ID
 * against the address a packet came from. Used by the RPC layer on every datagram and by the
 * DHT's routing; the XOR metric lives in src/dht/id.ts.
 */
import { createHash } from 'node:crypto';
import { type Address, canonicalHost, formatAddress } from './address.js';

/** Length of a node ID in bytes (160 bits). */
export const ID_BYTES = 20;

/** A node we know of: its ID (always SHA-1 of its address) and where it listens. */
export interface Contact extends Address {
  id: Uint8Array;
}

// Every received datagram and every address in a node list is hashed; most repeat.
// 8,192 entries of ~100 bytes: under 1 MiB, more than a full routing table's worth of peers.
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

/** The contact at an address: its canonical host and the ID derived from it. */
export function contactFromAddress(address: Address): Contact {
  const host = canonicalHost(address.host);
  return { id: nodeIdFromAddress({ host, port: address.port }), host, port: address.port };
}
