/**
 * The options of `DhtNode.create`, and the one place they meet their defaults
 * (constants.ts DEFAULTS) and their range checks. Pure.
 */
import type { Clock } from '../util/clock.js';
import type { RateLimit } from '../util/rate-limiter.js';
import type { Transport } from '../transport/transport.js';
import type { Address } from '../net/address.js';
import { DEFAULTS } from './constants.js';
import { DhtError } from './errors.js';
import { MAX_NODES_PER_REPLY, MAX_TTL_SECONDS } from './messages.js';

export interface DhtNodeOptions {
  /**
   * The IP address peers reach this node at (default 127.0.0.1). The node ID is SHA-1 of
   * host:port. A wildcard (0.0.0.0, ::) binds every interface: the node runs read-only until
   * peers agree on its external address (`addressQuorum`), then takes the ID of that address.
   */
  host?: string;
  /** UDP port; 0 picks a free one (default 0). */
  port?: number;
  /** `host:port` strings or addresses of nodes already in the network. */
  bootstrap?: Array<string | Address>;
  /** Use this transport instead of binding a UDP socket (simulations, tests). */
  transport?: Transport;
  clock?: Clock;
  /** Bucket size and replication factor (default 20). */
  k?: number;
  /** Parallel queries per lookup (default 3). */
  alpha?: number;
  /** Per-attempt timeout of ordinary requests (default 2000 ms). */
  requestTimeoutMs?: number;
  /** Retransmits of ordinary requests (default 1). */
  retries?: number;
  /**
   * Timeout of each lookup query (default 1000 ms). Lookups do not retransmit; a query
   * unanswered after a quarter of this stops holding one of the α slots.
   */
  lookupTimeoutMs?: number;
  /** Outstanding requests at most (default 128). */
  maxInFlight?: number;
  /** Requests waiting for an in-flight slot at most; more fail with QUEUE_FULL (default 4096). */
  maxQueued?: number;
  /** Incoming requests allowed per source IP (default 100/s, bursts of 200); null disables. */
  rateLimit?: RateLimit | null;
  /** Contacts from one IP allowed in one bucket (default 2; raise it for single-host test networks). */
  maxPerIpPerBucket?: number;
  /** Failed requests in a row after which a contact leaves the table (default 2). */
  maxFailures?: number;
  /** A contact heard from within this window is not pinged to make room for a newcomer (default 15 min). */
  freshContactMs?: number;
  /** A bucket with no lookup through it for this long is refreshed (default 15 min). */
  refreshIntervalMs?: number;
  /** How often maintenance runs: expiry, refresh, republish (default 60 s). */
  maintenanceIntervalMs?: number;
  /** Lifetime of stored values, and the longest a STORE may ask for (default 2 h). */
  valueTtlMs?: number;
  /** How often this node republishes values it put (default 1 h). */
  republishIntervalMs?: number;
  /** How often a node re-replicates values it holds for others to the current closest nodes (default 1 h). */
  replicateIntervalMs?: number;
  /** Values kept for others at most (default 10,000 and 16 MiB). */
  maxValues?: number;
  maxValueStoreBytes?: number;
  /** After joining, also refresh the buckets farther than our closest neighbour (default true). */
  refreshOnJoin?: boolean;
  /**
   * A node bound to a wildcard host (0.0.0.0, ::) adopts an observed external address once peers
   * in this many distinct network prefixes agree on it (default 3).
   */
  addressQuorum?: number;
}

/** The settings every component of a node reads: all options with their defaults applied. */
export type DhtSettings = Required<Omit<DhtNodeOptions, 'host' | 'port' | 'bootstrap' | 'transport' | 'clock' | 'rateLimit'>> & {
  rateLimit: RateLimit | null;
};

/** Applies DEFAULTS to `options` and checks the ranges; throws DhtError('BAD_OPTION'). */
export function resolveSettings(options: DhtNodeOptions): DhtSettings {
  const s: DhtSettings = {
    k: options.k ?? DEFAULTS.k,
    alpha: options.alpha ?? DEFAULTS.alpha,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
    retries: options.retries ?? DEFAULTS.retries,
    lookupTimeoutMs: options.lookupTimeoutMs ?? DEFAULTS.lookupTimeoutMs,
    maxInFlight: options.maxInFlight ?? DEFAULTS.maxInFlight,
    maxQueued: options.maxQueued ?? DEFAULTS.maxQueued,
    rateLimit: options.rateLimit === undefined ? DEFAULTS.rateLimit : options.rateLimit,
    maxPerIpPerBucket: options.maxPerIpPerBucket ?? DEFAULTS.maxPerIpPerBucket,
    maxFailures: options.maxFailures ?? DEFAULTS.maxFailures,
    freshContactMs: options.freshContactMs ?? DEFAULTS.freshContactMs,
    refreshIntervalMs: options.refreshIntervalMs ?? DEFAULTS.refreshIntervalMs,
    maintenanceIntervalMs: options.maintenanceIntervalMs ?? DEFAULTS.maintenanceIntervalMs,
    valueTtlMs: options.valueTtlMs ?? DEFAULTS.valueTtlMs,
    republishIntervalMs: options.republishIntervalMs ?? DEFAULTS.republishIntervalMs,
    replicateIntervalMs: options.replicateIntervalMs ?? DEFAULTS.replicateIntervalMs,
    maxValues: options.maxValues ?? DEFAULTS.maxValues,
    maxValueStoreBytes: options.maxValueStoreBytes ?? DEFAULTS.maxValueStoreBytes,
    refreshOnJoin: options.refreshOnJoin ?? DEFAULTS.refreshOnJoin,
    addressQuorum: options.addressQuorum ?? DEFAULTS.addressQuorum,
  };
  if (!Number.isInteger(s.addressQuorum) || s.addressQuorum < 2) throw new DhtError('BAD_OPTION', 'addressQuorum must be a whole number of at least 2 (one peer\'s word is never enough)');
  if (s.valueTtlMs > MAX_TTL_SECONDS * 1000) throw new DhtError('BAD_OPTION', `valueTtlMs may be at most ${MAX_TTL_SECONDS * 1000}`);
  if (!Number.isInteger(s.k) || s.k < 1 || s.k > MAX_NODES_PER_REPLY) throw new DhtError('BAD_OPTION', `k must be between 1 and ${MAX_NODES_PER_REPLY}`);
  if (!Number.isInteger(s.alpha) || s.alpha < 1) throw new DhtError('BAD_OPTION', 'alpha must be a whole number of at least 1');
  if (!Number.isInteger(s.maxQueued) || s.maxQueued < 0) throw new DhtError('BAD_OPTION', 'maxQueued must be a whole number of at least 0');
  return s;
}
