// Types for @ronomon/reed-solomon 6 (the package ships none): what codec.ts uses.
declare module '@ronomon/reed-solomon' {
  /** An encoding context for k data and m parity shards (a Buffer; reusable, also concurrently). */
  export type Context = Buffer;
  export const MAX_K: number;
  export const MAX_M: number;
  export function create(k: number, m: number): Context;
  /**
   * Computes the `targets` shards (bit i = shard i; data 0..k−1, parity k..k+m−1) from the
   * `sources` shards, in the libuv threadpool. Shard size = bufferSize / k = paritySize / m,
   * a multiple of 8.
   */
  export function encode(
    context: Context,
    sources: number,
    targets: number,
    buffer: Buffer,
    bufferOffset: number,
    bufferSize: number,
    parity: Buffer,
    parityOffset: number,
    paritySize: number,
    callback: (error: Error | undefined) => void,
  ): void;
}
