/**
 * Reed-Solomon over one stripe, wrapping @ronomon/reed-solomon (a C addon built at install; it
 * codes in the libuv threadpool, so a call never blocks the event loop). Why this library and
 * not a WebAssembly or pure-JS one: bench/erasure-candidates.ts, docs/benchmarks.md.
 *
 * A stripe holds one fragment of every piece: the K data fragments side by side in `data`, the
 * N − K parity fragments in `parity` (the layout the addon wants, so fragments are read from
 * and written to disk in place, no copies). K = N has no parity and nothing to compute.
 *
 * `encodeShard` / `decodeShard` do a whole small shard in memory, for tests and small callers;
 * files go through piece-files.ts, stripe by stripe.
 */
import { createRequire } from 'node:module';
import type * as ReedSolomonTypes from '@ronomon/reed-solomon';
import { ErasureError } from './errors.js';
import { PIECE_ALIGN } from './constants.js';
import { checkPieceIndex, type ErasureScheme, layoutFor, type PieceLayout, shardRangeOf, stripeRange } from './layout.js';

/** Buffers for one stripe of up to `fragmentBytes` per piece. */
export class Stripe {
  readonly data: Buffer;
  readonly parity: Buffer;

  constructor(
    readonly scheme: ErasureScheme,
    readonly fragmentBytes: number,
  ) {
    this.data = Buffer.alloc(scheme.k * fragmentBytes);
    this.parity = Buffer.alloc(Math.max(1, scheme.n - scheme.k) * fragmentBytes);
  }

  /** Piece `index`'s fragment in this stripe when each fragment is `length` bytes. */
  fragment(index: number, length: number): Buffer {
    const { k } = this.scheme;
    return index < k ? this.data.subarray(index * length, (index + 1) * length) : this.parity.subarray((index - k) * length, (index - k + 1) * length);
  }
}

// The package's main is the addon itself (binding.node), which only require() loads.
const ReedSolomon = createRequire(import.meta.url)('@ronomon/reed-solomon') as typeof ReedSolomonTypes;

const contexts = new Map<string, ReedSolomonTypes.Context>();

function contextFor({ k, n }: ErasureScheme): ReedSolomonTypes.Context {
  const key = `${k}/${n}`;
  let context = contexts.get(key);
  if (!context) {
    context = ReedSolomon.create(k, n - k);
    contexts.set(key, context);
  }
  return context;
}

/**
 * Computes the fragments `targets` of a stripe of `length`-byte fragments from the fragments
 * `sources` (at least K of them, already in place). Encoding is targets = the parity pieces,
 * sources = the data pieces; decoding and repair name whatever is missing and what was fetched.
 */
export async function codeStripe(stripe: Stripe, length: number, sources: readonly number[], targets: readonly number[]): Promise<void> {
  const scheme = stripe.scheme;
  const { k, n } = scheme;
  if (targets.length === 0 || length === 0) return;
  if (new Set(sources).size < k) throw new ErasureError('TOO_FEW_PIECES', `${sources.length} pieces given, ${k} needed`);
  if (k === n) throw new ErasureError('TOO_FEW_PIECES', `scheme ${k}/${n} has no parity to rebuild pieces ${targets.join(', ')} from`);
  let sourceBits = 0;
  let targetBits = 0;
  for (const s of sources) {
    checkPieceIndex(scheme, s);
    sourceBits |= 1 << s;
  }
  for (const t of targets) {
    checkPieceIndex(scheme, t);
    targetBits |= 1 << t;
  }
  if ((sourceBits & targetBits) !== 0) throw new ErasureError('BAD_PARAMETERS', 'a piece cannot be both a source and a target');
  const m = n - k;
  await new Promise<void>((resolve, reject) => {
    try {
      ReedSolomon.encode(contextFor(scheme), sourceBits, targetBits, stripe.data, 0, k * length, stripe.parity, 0, m * length, (error) =>
        error ? reject(new ErasureError('CODEC_FAILED', `reed-solomon: ${error.message}`)) : resolve(),
      );
    } catch (err) {
      reject(new ErasureError('CODEC_FAILED', `reed-solomon: ${err instanceof Error ? err.message : String(err)}`));
    }
  });
}

/**
 * The N pieces of `shard`, in memory, stripe by stripe exactly as piece-files.ts codes files
 * (the same bytes either way). For small shards; files go through piece-files.ts.
 */
export async function encodeShard(shard: Uint8Array, scheme: ErasureScheme): Promise<Buffer[]> {
  const layout = layoutFor(scheme, shard.length);
  const { k, n } = layout;
  const pieces = Array.from({ length: n }, () => Buffer.alloc(layout.pieceSize));
  const stripe = new Stripe(layout, stripeBytes(layout));
  for (let s = 0; s < layout.stripes; s++) {
    const { offset, length } = stripeRange(layout, s);
    for (let i = 0; i < k; i++) {
      const { shardOffset, bytes } = shardRangeOf(layout, i, offset, length);
      stripe.fragment(i, length).fill(0).set(shard.subarray(shardOffset, shardOffset + bytes));
    }
    await codeStripe(stripe, length, range(0, k), range(k, n));
    for (let i = 0; i < n; i++) stripe.fragment(i, length).copy(pieces[i]!, offset);
  }
  return pieces;
}

/**
 * The shard of `shardSize` bytes back from at least K of its pieces (index → bytes), in memory.
 * Pieces of the wrong size are PIECE_MISMATCH; fewer than K, TOO_FEW_PIECES. The pieces are
 * taken as they are: checking them against their Merkle roots is the caller's (piece-files.ts
 * does it).
 */
export async function decodeShard(pieces: ReadonlyMap<number, Uint8Array>, scheme: ErasureScheme, shardSize: number): Promise<Buffer> {
  const layout = layoutFor(scheme, shardSize);
  const { k } = layout;
  for (const [index, piece] of pieces) {
    checkPieceIndex(layout, index);
    if (piece.length !== layout.pieceSize) throw new ErasureError('PIECE_MISMATCH', `piece ${index} has ${piece.length} bytes, expected ${layout.pieceSize}`, index);
  }
  const sources = chooseSources([...pieces.keys()], k);
  const targets = range(0, k).filter((i) => !sources.includes(i));
  const shard = Buffer.alloc(shardSize);
  const stripe = new Stripe(layout, stripeBytes(layout));
  for (let s = 0; s < layout.stripes; s++) {
    const { offset, length } = stripeRange(layout, s);
    for (const i of sources) stripe.fragment(i, length).set(pieces.get(i)!.subarray(offset, offset + length));
    await codeStripe(stripe, length, sources, targets);
    for (let i = 0; i < k; i++) {
      const { shardOffset, bytes } = shardRangeOf(layout, i, offset, length);
      stripe.fragment(i, length).copy(shard, shardOffset, 0, bytes);
    }
  }
  return shard;
}

/** Fragment bytes a Stripe for `layout` needs (at least 8, so the 0-byte shard allocates something). */
export function stripeBytes(layout: PieceLayout): number {
  return Math.min(layout.fragmentBytes, Math.max(PIECE_ALIGN, layout.pieceSize));
}

/**
 * K of the available piece indexes to decode from: data pieces first (each one present is a
 * fragment nothing has to compute), then parity. TOO_FEW_PIECES when fewer than K.
 */
export function chooseSources(available: readonly number[], k: number): number[] {
  const distinct = [...new Set(available)].sort((a, b) => a - b);
  if (distinct.length < k) throw new ErasureError('TOO_FEW_PIECES', `${distinct.length} usable pieces, ${k} needed`);
  return distinct.slice(0, k);
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

