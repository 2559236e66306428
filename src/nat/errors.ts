/**
 * Errors of hole punching that callers branch on (one class with a code, as DhtError): the
 * owner falls back to another host (or, once built, a relay) on any of them.
 */

export type PunchErrorCode =
  /** The peer names no rendezvous (its record has no `r`): it cannot be punched to. */
  | 'NO_RENDEZVOUS'
  /** Every rendezvous refused (not registered there, rate-limited, full) or did not answer. */
  | 'RENDEZVOUS_REFUSED'
  /** A rendezvous passed the request on, but no PUNCH_ACK came back in time (e.g. a symmetric NAT). */
  | 'TIMEOUT'
  /** Too many punches under way at once here. */
  | 'BUSY';

export class PunchError extends Error {
  constructor(
    readonly code: PunchErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PunchError';
  }
}
