/**
 * The one error src/erasure throws for things a caller branches on: a typed `code` and a
 * message a person can read. I/O errors (ENOENT, ENOSPC) pass through as they are.
 */

/**
 * - `BAD_PARAMETERS`: K/N outside what the codec can do (1 ≤ K ≤ N, K ≤ MAX_DATA_PIECES, N − K ≤
 *   MAX_PARITY_PIECES), a piece index out of range, a negative or too large size.
 * - `TOO_FEW_PIECES`: fewer than K usable pieces (missing, of the wrong size, or failing their
 *   Merkle root): the shard cannot be rebuilt from what was given.
 * - `PIECE_MISMATCH`: a piece whose size or Merkle root is not the one it was named with
 *   (corrupted, truncated, or another shard's piece). `piece` says which.
 * - `CODEC_FAILED`: the Reed-Solomon library refused a call (a bug here, never bad input).
 */
export type ErasureErrorCode = 'BAD_PARAMETERS' | 'TOO_FEW_PIECES' | 'PIECE_MISMATCH' | 'CODEC_FAILED';

export class ErasureError extends Error {
  constructor(
    readonly code: ErasureErrorCode,
    message: string,
    /** The piece index the error is about, when there is one. */
    readonly piece?: number,
  ) {
    super(message);
    this.name = 'ErasureError';
  }
}
