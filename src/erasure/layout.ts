/**
 * Where a shard's bytes go among its pieces. Pure: no I/O.
 *
 * A shard of S bytes coded K of N has N pieces of the same size P = S / K rounded up to a
 * multiple of 8 (the codec's word). Piece i < K (a data piece) is bytes [i·P, (i+1)·P) of the
 * shard, zeros past its end; pieces K..N−1 are parity. Data pieces are plain ranges of the shard
 * (a "systematic" code): a restore that gets the K data pieces just joins them, with no
 * decoding, and a host holding one sees only that range of ciphertext.
 *
 * Coding goes stripe by stripe so that no step holds a whole shard: stripe s is bytes
 * [s·F, s·F + F) of every piece (F = STRIPE_FRAGMENT_BYTES, the last stripe shorter), and each
 * stripe's parity depends on that stripe's data fragments only. F is part of the format: the
 * same data coded with another F gives other parity (see constants.ts).
 *
 * The 0-byte shard has pieces of 0 bytes and no stripes; the 1-byte shard has pieces of 8.
 */
import { MAX_DATA_PIECES, MAX_PARITY_PIECES, PIECE_ALIGN, STRIPE_FRAGMENT_BYTES } from './constants.js';
import { ErasureError } from './errors.js';

/** K of N: any K of the N pieces rebuild the shard. Replicas R are the scheme 1 of R. */
export interface ErasureScheme {
  /** Data pieces (K), at least 1. */
  k: number;
  /** All pieces (N), data and parity, at least K. */
  n: number;
}

/** The layout of one shard's pieces (see the header). */
export interface PieceLayout extends ErasureScheme {
  shardSize: number;
  /** Bytes of every piece (P). */
  pieceSize: number;
  /** Bytes of each piece per stripe (F); the last stripe may be shorter. */
  fragmentBytes: number;
  /** Stripes (0 for the 0-byte shard). */
  stripes: number;
}

/** Throws BAD_PARAMETERS unless the codec can do K of N. */
export function checkScheme(scheme: ErasureScheme): ErasureScheme {
  const { k, n } = scheme;
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < k) {
    throw new ErasureError('BAD_PARAMETERS', `erasure scheme ${k}/${n}: need whole numbers with 1 <= K <= N`);
  }
  if (k > MAX_DATA_PIECES) throw new ErasureError('BAD_PARAMETERS', `erasure scheme ${k}/${n}: at most ${MAX_DATA_PIECES} data pieces`);
  if (n - k > MAX_PARITY_PIECES) throw new ErasureError('BAD_PARAMETERS', `erasure scheme ${k}/${n}: at most ${MAX_PARITY_PIECES} parity pieces`);
  return { k, n };
}

/** Parses "K/N" (as typed after `--erasure`). */
export function parseScheme(text: string): ErasureScheme {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new ErasureError('BAD_PARAMETERS', `erasure scheme "${text}": expected K/N, such as 2/4`);
  return checkScheme({ k: Number(m[1]), n: Number(m[2]) });
}

/** Bytes of each piece of a shard of `shardSize` bytes cut into `k` data pieces. */
export function pieceSizeFor(shardSize: number, k: number): number {
  if (!Number.isSafeInteger(shardSize) || shardSize < 0) throw new ErasureError('BAD_PARAMETERS', `shard size ${shardSize} is not a byte count`);
  if (!Number.isInteger(k) || k < 1) throw new ErasureError('BAD_PARAMETERS', `${k} data pieces: need at least 1`);
  return roundUp(Math.ceil(shardSize / k), PIECE_ALIGN);
}

/**
 * The layout of a shard of `shardSize` bytes coded `scheme`. `fragmentBytes` is the format's
 * STRIPE_FRAGMENT_BYTES; only tests of the layout itself pass another.
 */
export function layoutFor(scheme: ErasureScheme, shardSize: number, fragmentBytes = STRIPE_FRAGMENT_BYTES): PieceLayout {
  const { k, n } = checkScheme(scheme);
  if (!Number.isSafeInteger(fragmentBytes) || fragmentBytes <= 0 || fragmentBytes % PIECE_ALIGN !== 0) {
    throw new ErasureError('BAD_PARAMETERS', `fragment size ${fragmentBytes}: need a positive multiple of ${PIECE_ALIGN}`);
  }
  const pieceSize = pieceSizeFor(shardSize, k);
  return { k, n, shardSize, pieceSize, fragmentBytes, stripes: Math.ceil(pieceSize / fragmentBytes) };
}

/** Where stripe `s` lies in every piece: its offset and length (a multiple of 8, never 0). */
export function stripeRange(layout: PieceLayout, s: number): { offset: number; length: number } {
  if (!Number.isInteger(s) || s < 0 || s >= layout.stripes) throw new ErasureError('BAD_PARAMETERS', `stripe ${s} of ${layout.stripes}`);
  const offset = s * layout.fragmentBytes;
  return { offset, length: Math.min(layout.fragmentBytes, layout.pieceSize - offset) };
}

/**
 * The shard bytes behind `length` bytes at `offset` of data piece `piece`: where they start in
 * the shard and how many are real (the rest, up to `length`, is zero padding).
 */
export function shardRangeOf(layout: PieceLayout, piece: number, offset: number, length: number): { shardOffset: number; bytes: number } {
  if (!isDataPiece(layout, piece)) throw new ErasureError('BAD_PARAMETERS', `piece ${piece} is not a data piece of ${layout.k}/${layout.n}`);
  const shardOffset = piece * layout.pieceSize + offset;
  return { shardOffset, bytes: Math.max(0, Math.min(length, layout.shardSize - shardOffset)) };
}

export function isDataPiece(layout: ErasureScheme, piece: number): boolean {
  return Number.isInteger(piece) && piece >= 0 && piece < layout.k;
}

export function checkPieceIndex(scheme: ErasureScheme, piece: number): void {
  if (!Number.isInteger(piece) || piece < 0 || piece >= scheme.n) {
    throw new ErasureError('BAD_PARAMETERS', `piece index ${piece} is outside 0..${scheme.n - 1}`);
  }
}

/** Bytes all N pieces hold together: what the hosts store for this shard. */
export function bytesHeld(layout: PieceLayout): number {
  return layout.n * layout.pieceSize;
}

function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}
