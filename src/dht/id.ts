/**
 * The XOR metric over node IDs (Kademlia's distance): distances, bucket prefixes, random IDs
 * in a bucket, sorting by closeness. How an ID is derived from an address is in
 * src/net/node-id.ts; byte helpers are in src/util/bytes.ts.
 */
import { randomBytes } from 'node:crypto';
import { ID_BYTES } from '../net/node-id.js';

export const ID_BITS = ID_BYTES * 8;

/** XOR distance as bytes (big-endian), comparable with `compareBytes`. */
export function xorDistance(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(ID_BYTES);
  for (let i = 0; i < ID_BYTES; i++) out[i] = a[i]! ^ b[i]!;
  return out;
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

/** Sorts contacts by distance to `target`, closest first (returns a new array). */
export function sortByDistance<T extends { id: Uint8Array }>(target: Uint8Array, contacts: Iterable<T>): T[] {
  return [...contacts].sort((a, b) => compareDistance(target, a.id, b.id));
}
