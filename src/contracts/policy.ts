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
import { isIP } from 'node:net';
import type { RejectReasonName } from './refusals.js';

// The reject codes are refusals' (one list with their texts); decideProposal returns them.
export { RejectReason, type RejectReasonName } from './refusals.js';

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
  /** What our disk can still take (free space minus the reserve, minus reservations not yet written). */
  diskBytes: number;
  balance: Balance;
  /** Unreciprocated bytes we already keep for *other* keys from the proposer's network prefix. */
  prefixDebtOfOthers: number;
  /** The credit one network prefix gets before it must give back. */
  allowance: number;
  /** Our data directory is read-only now (storage/read-only.ts): nothing new can be kept. */
  readOnly?: boolean;
}

/** The host's decision: null to accept, or the reason to refuse. */
export function decideProposal(f: ProposalFacts): RejectReasonName | null {
  if (f.ownerOffer <= 0) return 'NO_STORAGE_OFFERED';
  if (f.ownerIsDefaulter) return 'DEFAULTER';
  if (f.readOnly) return 'READ_ONLY';
  if (f.size > f.freeBytes) return 'NO_SPACE';
  if (f.size > f.diskBytes) return 'DISK_FULL';
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

/** The network a host address belongs to for the allowance: IPv4 /24, IPv6 /48. */
export function networkPrefix(host: string): string {
  if (isIP(host) === 4) return host.split('.').slice(0, 3).join('.') + '.0/24';
  if (isIP(host) === 6) {
    const [head = '', tail] = host.toLowerCase().split('::');
    const groups = head ? head.split(':') : [];
    if (tail !== undefined) while (groups.length < 3) groups.push('0');
    return groups.slice(0, 3).map((g) => g || '0').join(':') + '::/48';
  }
  return host;
}

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

/** What a maintenance pass changes about one counterpart's standing. */
export interface StandingChange {
  /** `forgiven`: its strikes are cleared; `defaulted`: it is a defaulter from now on. */
  kind: 'forgiven' | 'defaulted';
  standing: Standing;
}

/**
 * Reviews a counterpart in a maintenance pass: one that owes us nothing (any more) has its
 * strikes forgiven, since its refusals were its right, not a default; one whose strikes stood
 * for the grace period becomes a defaulter. `debt` is asked only when it matters.
 */
export function reviewStanding(s: Standing, debt: () => number, now: number, graceMs: number): StandingChange | null {
  if (s.defaulterSince === null && s.strikes > 0 && debt() === 0) return { kind: 'forgiven', standing: { ...s, strikes: 0, strikeSince: null } };
  const next = evaluateStanding(s, now, graceMs);
  return next === s || next.defaulterSince === null ? null : { kind: 'defaulted', standing: next };
}
