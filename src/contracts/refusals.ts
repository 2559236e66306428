/**
 * Why a host did not take a shard, as codes callers branch on, and the one text per code that
 * people read (negotiation's error message and the CLI's explanation both use `refusalText`).
 *
 * Two kinds of code: a host's own refusal, carried on the wire as a number in CONTRACT_REJECT
 * (`RejectReason`), and what the owner found itself while asking (`OwnerFinding`).
 */
import type { Address } from '../net/address.js';

/** Why a host refuses a proposal (carried as `why` in CONTRACT_REJECT). Wire values: never renumber. */
export const RejectReason = {
  NO_STORAGE_OFFERED: 1,
  NO_SPACE: 2,
  UNBALANCED: 3,
  DEFAULTER: 4,
  EXPIRED: 5,
  REPLAYED: 6,
  BAD_SIGNATURE: 7,
  BAD_TERMS: 8,
  NOT_FOR_ME: 9,
  /** The host's disk has less room than the shard (whatever it offers): see storage/disk-space.ts. */
  DISK_FULL: 10,
  /** The proposer's address is not proven: send the proposal again with the cookie (address-cookies.ts). */
  ADDRESS_UNPROVEN: 11,
  /** The host's data directory is read-only while it runs (storage/read-only.ts): it keeps serving what it holds. */
  READ_ONLY: 12,
} as const;
export type RejectReasonName = keyof typeof RejectReason;

/** What the owner found without a refusal: silence, a bad answer, a host it will not ask. */
export type OwnerFinding = 'NO_ANSWER' | 'BAD_ANSWER' | 'TOO_LITTLE_SPACE' | 'HOST_IS_DEFAULTER' | 'HOST_LOST_DATA' | 'UPLOAD_FAILED';

/** Every reason a host did not take a shard; `UNKNOWN_n` is a wire code this version does not know. */
export type RefusalCode = RejectReasonName | OwnerFinding | `UNKNOWN_${number}`;

/** One host that did not take a shard, and why. */
export interface Refusal {
  address: Address;
  /** Null when the host never said who it is (no answer to HELLO). */
  host: Uint8Array | null;
  reason: RefusalCode;
}

/** No host accepted at all (or none stored the shard); `refusals` says why, the message in one line. */
export class NegotiationError extends Error {
  readonly code = 'NO_HOST';

  constructor(
    message: string,
    readonly refusals: Refusal[],
  ) {
    super(message);
    this.name = 'NegotiationError';
  }
}

/** What each code means, written so it reads after "N peers" (the CLI) and in brackets (errors). */
const TEXT: Record<RejectReasonName | OwnerFinding, string> = {
  NO_STORAGE_OFFERED: 'the proposing peer offers no storage to others',
  NO_SPACE: 'the host has no free space for this shard',
  UNBALANCED: 'the exchange would become too one-sided (the proposer must keep data for others first)',
  DEFAULTER: 'the proposer is marked as a defaulter by this host',
  EXPIRED: 'the proposal is too old or already expired',
  REPLAYED: 'the proposal was already used',
  BAD_SIGNATURE: 'the signature is invalid',
  BAD_TERMS: 'the contract terms are invalid',
  NOT_FOR_ME: 'the proposal names another host',
  DISK_FULL: "the host's disk is full",
  ADDRESS_UNPROVEN: 'the host asked the proposer to prove its address and got no proof',
  READ_ONLY: "the host's data directory is read-only",
  NO_ANSWER: 'did not answer',
  BAD_ANSWER: 'answered with an invalid countersignature or terms',
  TOO_LITTLE_SPACE: 'announced too little free space',
  HOST_IS_DEFAULTER: 'defaulted on us before (not asked to keep our data)',
  HOST_LOST_DATA: 'lost our data before, failing an audit (not asked to keep our data)',
  UPLOAD_FAILED: 'accepted, then the upload failed (placed elsewhere; the host is not asked again for a while)',
};

/** The name of a wire reject code (`UNKNOWN_n` for one this version does not know). */
export function reasonName(code: number): RejectReasonName | `UNKNOWN_${number}` {
  const entry = Object.entries(RejectReason).find(([, v]) => v === code);
  return entry ? (entry[0] as RejectReasonName) : `UNKNOWN_${code}`;
}

/** What a wire reject code means. */
export function reasonText(code: number): string {
  return refusalText(reasonName(code));
}

/** True for a host's own refusal (a CONTRACT_REJECT), false for what the owner found itself. */
export function isHostRefusal(code: RefusalCode): boolean {
  return code in RejectReason || code.startsWith('UNKNOWN_');
}

/** What `code` means, in the words people read. */
export function refusalText(code: RefusalCode): string {
  return code in TEXT ? TEXT[code as keyof typeof TEXT] : `unknown reason ${code.slice('UNKNOWN_'.length)}`;
}

/**
 * Refusals that are the proposer's own fault. Any other refusal by a peer that owes us
 * storage (or no answer at all) counts against it.
 */
export function isExcusedRefusal(code: number): boolean {
  return (
    code === RejectReason.EXPIRED ||
    code === RejectReason.REPLAYED ||
    code === RejectReason.BAD_SIGNATURE ||
    code === RejectReason.BAD_TERMS ||
    code === RejectReason.NOT_FOR_ME ||
    code === RejectReason.ADDRESS_UNPROVEN
  );
}

/** Refusals counted by code, most frequent first. */
export function countRefusals(refusals: readonly Refusal[]): Array<[RefusalCode, number]> {
  const counts = new Map<RefusalCode, number>();
  for (const r of refusals) counts.set(r.reason, (counts.get(r.reason) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]);
}

/** Negotiation's one line saying why nobody accepted. */
export function explainNoHost(refusals: readonly Refusal[]): string {
  if (refusals.length === 0) return 'no host accepted the contract: no other peers were found (check the bootstrap address)';
  const counts = countRefusals(refusals);
  if (counts.length === 1 && counts[0]![0] === 'NO_STORAGE_OFFERED') {
    return `no host accepted the contract: all ${refusals.length} refused with NO_STORAGE_OFFERED (this peer offers no storage to others; start it with storage > 0)`;
  }
  return `no host accepted the contract: ${counts.map(([code, n]) => `${n} ${code} (${refusalText(code)})`).join(', ')}`;
}
