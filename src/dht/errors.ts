/**
 * The errors the DHT's public methods throw, as one class with a code a caller can branch on
 * (RpcError, from src/rpc, is what a single request fails with).
 */

export type DhtErrorCode =
  /** None of the bootstrap nodes answered the join. */
  | 'NO_BOOTSTRAP'
  /** A value is over MAX_VALUE_BYTES. */
  | 'VALUE_TOO_LARGE'
  /** A record to republish fails checkRecord. */
  | 'INVALID_RECORD'
  /** An option of `DhtNode.create` is out of range. */
  | 'BAD_OPTION';

export class DhtError extends Error {
  constructor(
    readonly code: DhtErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DhtError';
  }
}
