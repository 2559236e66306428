/**
 * What the owner makes of its hosts, as pure functions: which contracts are due for an audit,
 * what an audit's outcome means, when an unreachable host is given up, and which contracts
 * still count as replicas. No I/O: keep-alive.ts and repair.ts act on the answers.
 */
import type { ContractTerms } from '../contracts/contract.js';
import type { AuditFailure, AuditOutcome } from '../transfer/client.js';

/**
 * - `passed`: the host proved it holds the data.
 * - `lost`: it lost or altered the data: the contract is cancelled, the host struck and never
 *   given a shard again.
 * - `gone`: it no longer holds a contract for it (ended or unknown on its side): cancelled and
 *   not given a shard again, but no strike (it may have ended the contract for good reason).
 * - `unreachable`: no answer, or one that says nothing about the data (busy, a hiccup): short
 *   downtime costs nothing; past the grace period the contract goes.
 */
export type AuditVerdict = 'passed' | 'lost' | 'gone' | 'unreachable';

/** Failures that say nothing about the data: a full host, a hiccup, a dropped line. */
const TRANSIENT: ReadonlySet<AuditFailure> = new Set<AuditFailure>(['BUSY', 'INTERNAL', 'IDLE_TIMEOUT', 'CONNECTION_LOST', 'SLOW_SENDER']);
/** Failures that mean the host holds no contract for the shard any more. */
const NO_CONTRACT: ReadonlySet<AuditFailure> = new Set<AuditFailure>(['WRONG_STATE', 'UNKNOWN_CONTRACT']);

/** `outcome` null: the host could not be reached at any address. */
export function judgeAudit(outcome: AuditOutcome | null): AuditVerdict {
  if (outcome === null) return 'unreachable';
  if (outcome.passed) return 'passed';
  const failure = outcome.failure ?? 'BAD_ANSWER';
  if (TRANSIENT.has(failure)) return 'unreachable';
  return NO_CONTRACT.has(failure) ? 'gone' : 'lost';
}

/** True when a contract audited last at `lastAuditAt` (ms, null: never) is due at `now`. */
export function isAuditDue(lastAuditAt: number | null, auditIntervalSeconds: number, now: number): boolean {
  return lastAuditAt === null || now - lastAuditAt >= auditIntervalSeconds * 1000;
}

/** True when a host unreachable since `since` (ms) has been away at least `graceMs` at `now`. */
export function pastGrace(since: number, now: number, graceMs: number): boolean {
  return now - since >= graceMs;
}

/**
 * True when a contract still counts as a replica at `nowMs`: more than `renewBeforeFraction`
 * of its length is left (a fresh one is placed before it lapses).
 */
export function isLasting(terms: Pick<ContractTerms, 'createdAt' | 'expiresAt'>, nowMs: number, renewBeforeFraction: number): boolean {
  return terms.expiresAt - nowMs / 1000 > (terms.expiresAt - terms.createdAt) * renewBeforeFraction;
}
