/**
 * Tools for the bad-input tests: a seeded PRNG (here), a fuzz target peer in its own process
 * (fuzz-target-driver.ts, fuzz-target.ts) and a generator of valid, mutated and random datagrams
 * of every message type (datagram-fuzzer.ts).
 */
import { seededRandom } from '../../bench/common.js';

export { DatagramFuzzer, type FuzzContext, type MessageKind, type Mutation } from './datagram-fuzzer.js';
export { type BySource, FuzzTarget, type TargetStatus } from './fuzz-target-driver.js';
export { LONG } from './peers.js';

/** A deterministic PRNG (the benchmarks' mulberry32) so a failing run can be replayed from its seed. */
export function prng(seed: number): Rand {
  const next = seededRandom(seed);
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    bytes: (n: number) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = int(256);
      return out;
    },
    pick: <T>(items: readonly T[]) => items[int(items.length)]!,
  };
}

export interface Rand {
  next(): number;
  int(n: number): number;
  bytes(n: number): Uint8Array;
  pick<T>(items: readonly T[]): T;
}
