/**
 * What `dbs status` (and its JSON) shows of the placement backoff (host-backoff.ts): each host
 * remembered for failing us, why, how many times in a row, and until when it is not asked.
 * Pure: the caller passes the entries and the time.
 */
import { toHex } from '../util/bytes.js';
import type { BackoffEntry } from './host-backoff.js';

export interface BackoffStatus {
  /** The host's public key (hex). */
  host: string;
  /** Why it failed last, in words ("the host's disk is full", an upload error). */
  reason: string;
  /** Failures in a row; each doubles the wait (1 min, 2 min, … 1 h). */
  failures: number;
  /** ms since the epoch: the host is not asked before then. */
  until: number;
  /** True while `until` is ahead: placement and repair route around it now. */
  waiting: boolean;
}

/** The hosts in backoff, the ones waiting longest first; entries past their wait follow (they shorten nothing until a success). */
export function backoffStatus(entries: readonly BackoffEntry[], now: number): BackoffStatus[] {
  return entries
    .map((e) => ({ host: toHex(e.host), reason: e.reason, failures: e.failures, until: e.until, waiting: e.until > now }))
    .sort((a, b) => Number(b.waiting) - Number(a.waiting) || b.until - a.until);
}
