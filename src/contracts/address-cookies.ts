/**
 * Return-routability cookies for CONTRACT_PROPOSE (docs/security.md, "A spoofer"). A proposal
 * from an address we have not verified (not a contact that answered our requests) reserves
 * nothing: it is refused `ADDRESS_UNPROVEN` with a cookie bound to that address and that
 * proposal, which only someone receiving at the address can read and send back. A blind spoofer
 * never sees it, so its forged proposals can no longer tie up a host's space or a prefix's
 * allowance. Stateless: the cookie is an HMAC, valid for one to two rotation periods.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Clock } from '../util/clock.js';
import { type Address, formatAddress } from '../net/address.js';

/** Bytes of a cookie. */
export const COOKIE_BYTES = 16;
/** How often the cookie epoch turns (ms): a cookie is good for one to two of these. */
export const COOKIE_ROTATE_MS = 60_000;

export class ProposalCookies {
  private readonly secret = randomBytes(32);

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    private readonly rotateMs = COOKIE_ROTATE_MS,
  ) {}

  issue(to: Address, contractId: Uint8Array): Uint8Array {
    return this.cookieFor(to, contractId, Math.floor(this.clock.now() / this.rotateMs));
  }

  check(from: Address, contractId: Uint8Array, cookie: Uint8Array | undefined): boolean {
    if (!cookie || cookie.length !== COOKIE_BYTES) return false;
    const epoch = Math.floor(this.clock.now() / this.rotateMs);
    return [epoch, epoch - 1].some((e) => Buffer.compare(this.cookieFor(from, contractId, e), cookie) === 0);
  }

  private cookieFor(address: Address, contractId: Uint8Array, epoch: number): Uint8Array {
    const mac = createHmac('sha256', this.secret).update(`${epoch}|${formatAddress(address)}|`).update(contractId).digest();
    return new Uint8Array(mac.subarray(0, COOKIE_BYTES));
  }
}

/**
 * What a host asks of a proposal's source before it reserves anything: null when the address is
 * proven (a verified contact, or a valid cookie came back), else the cookie to send it.
 */
export function addressCheck(cookies: ProposalCookies, isProven: (from: Address & { id: Uint8Array }) => boolean) {
  return (from: Address & { id: Uint8Array }, contractId: Uint8Array, cookie: Uint8Array | undefined): Uint8Array | null =>
    isProven(from) || cookies.check(from, contractId, cookie) ? null : cookies.issue(from, contractId);
}
