/**
 * Reciprocity, pure: whether a host accepts a proposal, and how a counterpart's standing
 * moves from honest to defaulter. Every host applies these rules on its own; no one else
 * needs to be trusted.
 *
 * The balance rule. For each counterpart the ledger says how many bytes we keep for them
 * and how many they keep for us (live contracts only). A proposal is accepted when, after
 * it, what we keep for them exceeds what they keep for us by at most the allowance: the
 * credit a newcomer gets before it has given anything back.
 *
 * Why many identities do not multiply the credit: the allowance is not granted per key but
 * per network prefix (an IPv4 /24 or an IPv6 /48, from the address each key last used).
 * All keys seen from one prefix share one allowance, so running ten peers on one machine
 * (or one subnet) earns the credit of one. Beyond the allowance, the only way to get
 * storage is to keep data for others — real bytes on disk, checked by audits — and that
 * does not grow with the number of identities either. (Wuala's storage trading was farmed by
 * running several instances per PC; here each extra instance adds nothing.)
 */

/** Why a host refuses a proposal (carried as `why` in CONTRACT_REJECT). */
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
} as const;
export type RejectReasonName = keyof typeof RejectReason;

const REASON_TEXT: Record<RejectReasonName, string> = {
  NO_STORAGE_OFFERED: 'the proposing peer offers no storage to others',
  NO_SPACE: 'the host has no free space for this shard',
  UNBALANCED: 'the exchange would become too one-sided (the proposer must keep data for others first)',
  DEFAULTER: 'the proposer is marked as a defaulter by this host',
  EXPIRED: 'the proposal is too old or already expired',
  REPLAYED: 'the proposal was already used',
  BAD_SIGNATURE: 'the signature is invalid',
  BAD_TERMS: 'the contract terms are invalid',
  NOT_FOR_ME: 'the proposal names another host',
};

export function reasonName(code: number): RejectReasonName | `UNKNOWN_${number}` {
  const entry = Object.entries(RejectReason).find(([, v]) => v === code);
  return entry ? (entry[0] as RejectReasonName) : `UNKNOWN_${code}`;
}

export function reasonText(code: number): string {
  const name = reasonName(code);
  return name in REASON_TEXT ? REASON_TEXT[name as RejectReasonName] : `unknown reason ${code}`;
}

/**
 * Refusals that are the proposer's own fault. Any other refusal by a peer that owes us
 * storage (or no answer at all) counts against it.
 */
export function isExcusedRefusal(code: number): boolean {
  return code === RejectReason.EXPIRED || code === RejectReason.REPLAYED || code === RejectReason.BAD_SIGNATURE || code === RejectReason.BAD_TERMS || code === RejectReason.NOT_FOR_ME;
}

export interface Balance {
  /** Bytes we keep for the counterpart. */
  keptForThem: number;
  /** Bytes the counterpart keeps for us. */
  keptByThem: number;
}

export interface ProposalFacts {
  size: number;
  /** What the proposer says it offers to the network (signed in the terms). */
  ownerOffer: number;
  ownerIsDefaulter: boolean;
  /** Our free space (offered minus live contracts). */
  freeBytes: number;
  balance: Balance;
  /** Unreciprocated bytes we already keep for *other* keys from the proposer's network prefix. */
  prefixDebtOfOthers: number;
  /** The credit one network prefix gets before it must give back. */
  allowance: number;
}

/** The host's decision: null to accept, or the reason to refuse. */
export function decideProposal(f: ProposalFacts): RejectReasonName | null {
  if (f.ownerOffer <= 0) return 'NO_STORAGE_OFFERED';
  if (f.ownerIsDefaulter) return 'DEFAULTER';
  if (f.size > f.freeBytes) return 'NO_SPACE';
  const debtAfter = Math.max(0, f.balance.keptForThem + f.size - f.balance.keptByThem);
  if (debtAfter > 0 && f.prefixDebtOfOthers + debtAfter > f.allowance) return 'UNBALANCED';
  return null;
}

/** Unreciprocated bytes of one counterpart. */
export function debt(b: Balance): number {
  return Math.max(0, b.keptForThem - b.keptByThem);
}

/** Whether the counterpart owes us at least `size` bytes of storage. */
export function owesUs(b: Balance, size: number): boolean {
  return b.keptForThem - b.keptByThem >= size;
}

/** The network a host address belongs to for the allowance: IPv4 /24, IPv6 /48 (src/util/ip.ts). */
export { networkPrefix } from '../util/ip.js';

/** How a counterpart stands with us. Times in ms. */
export interface Standing {
  /** Unexcused refusals and failures since it last honoured us. */
  strikes: number;
  strikeSince: number | null;
  /** Once set, the counterpart is refused for good. */
  defaulterSince: number | null;
}

export const GOOD_STANDING: Standing = { strikes: 0, strikeSince: null, defaulterSince: null };

/** It refused us without excuse, did not answer, or failed an audit. */
export function recordStrike(s: Standing, now: number): Standing {
  return { ...s, strikes: s.strikes + 1, strikeSince: s.strikeSince ?? now };
}

/** It accepted our proposal or passed an audit: earlier strikes are forgiven (not a past default). */
export function recordHonoured(s: Standing): Standing {
  return s.defaulterSince !== null ? s : { ...s, strikes: 0, strikeSince: null };
}

/** Declares a defaulter once strikes have stood unanswered for the grace period. */
export function evaluateStanding(s: Standing, now: number, graceMs: number): Standing {
  if (s.defaulterSince !== null || s.strikeSince === null) return s;
  return now - s.strikeSince >= graceMs ? { ...s, defaulterSince: now } : s;
}
