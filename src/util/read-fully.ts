/** Positional synchronous reads that stop short only at the end of the file. */
import { readSync } from 'node:fs';

/**
 * Reads `length` bytes at `position` of `fd` into `into` from `at`, looping over short reads;
 * fewer only where the file ends. Returns how many were read.
 */
export function readFullySync(fd: number, into: Uint8Array, at: number, length: number, position: number): number {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, into, at + got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}
