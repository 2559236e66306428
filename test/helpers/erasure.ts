/** Test data for the erasure tests: reproducible bytes and every K of N. */
import { createCipheriv } from 'node:crypto';

/** Reproducible pseudo-random bytes (AES-CTR of zeros under a key from `seed`). */
export function pseudoRandom(size: number, seed: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** Every subset of `size` elements of 0..n-1. */
export function subsets(n: number, size: number): number[][] {
  if (size === 0) return [[]];
  if (n < size) return [];
  return [...subsets(n - 1, size), ...subsets(n - 1, size - 1).map((s) => [...s, n - 1])];
}

