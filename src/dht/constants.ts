/**
 * Every default and tuning constant of the DHT, each with its unit and the reason for its
 * value. Options are applied once, in options.ts (`options.x ?? DEFAULTS.x`); nothing else in
 * src/dht writes a default of its own.
 */
import type { RateLimit } from '../util/rate-limiter.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Defaults of the `DhtNode.create` options (README documents them). */
export const DEFAULTS = {
  /** Loopback: a node that is not told its public address is only reachable from this machine. */
  host: '127.0.0.1',
  /** 0 = the OS picks a free port. */
  port: 0,
  /** Contacts per bucket and copies per value: Kademlia's and BEP 5's k. */
  k: 20,
  /** Queries one lookup keeps in flight: Kademlia's α. */
  alpha: 3,
  /** ms per attempt of an ordinary request: well above a WAN round trip, short enough to fail over. */
  requestTimeoutMs: 2000,
  /** Retransmits of an ordinary request: one survives most single losses at the cost of one datagram. */
  retries: 1,
  /**
   * ms a lookup query waits for its answer. Lookup queries are never retransmitted (see
   * LOOKUP_ATTEMPTS for what a lookup does under loss); a quarter of this frees the query's α slot.
   */
  lookupTimeoutMs: 1000,
  /** Requests outstanding at once: enough for α-wide lookups plus a k-wide STORE round. */
  maxInFlight: 128,
  /** Requests waiting for an in-flight slot before new ones fail with QUEUE_FULL: bounds memory under a burst. */
  maxQueued: 4096,
  /** Incoming requests per source IP: 100/s, bursts of 200; a busy honest peer stays far below. */
  rateLimit: { perSecond: 100, burst: 200 } as RateLimit | null,
  /** Contacts from one IP (or IPv6 /64) per bucket: one machine cannot fill a region of the table. */
  maxPerIpPerBucket: 2,
  /** Consecutive failed requests before a contact leaves the table: one loss is not death. */
  maxFailures: 2,
  /** ms a contact stays "good" after it answered (BEP 5: 15 min); good contacts are not challenged. */
  freshContactMs: 15 * MINUTE,
  /** ms without a lookup through a bucket before it is refreshed (BEP 5: 15 min). */
  refreshIntervalMs: 15 * MINUTE,
  /** ms between maintenance passes (expiry, refresh, republish, replication). */
  maintenanceIntervalMs: MINUTE,
  /** After joining, refresh the buckets farther than our closest neighbour, so they fill at once. */
  refreshOnJoin: true,
  /** ms a stored value lives, and the longest a STORE may ask for: twice the republish interval. */
  valueTtlMs: 2 * HOUR,
  /** ms between republishes of the values this node put (half their TTL, so one missed pass is harmless). */
  republishIntervalMs: HOUR,
  /** ms between re-replications of values held for others to the current closest nodes. */
  replicateIntervalMs: HOUR,
  /** Values kept for others at most: 10,000 of at most ~1 KiB each. */
  maxValues: 10_000,
  /** Bytes of values kept for others at most (16 MiB). */
  maxValueStoreBytes: 16 * 2 ** 20,
  /**
   * Distinct reporter network prefixes (IPv4 /24, IPv6 /48) that must agree on our observed
   * address before a node bound to a wildcard adopts it: 3, so neither one liar nor two
   * colluding subnets can steer our ID (hyperdht asks 3 of 4 nodes; libp2p's identify 4).
   */
  addressQuorum: 3,
} as const;

/** ms an observation of our address counts for: a home's address changes on reconnect (30 min). */
export const ADDRESS_SAMPLE_TTL_MS = 30 * MINUTE;

/**
 * The one rule for lookups under loss. A lookup query is a single datagram with its own
 * timeout (`lookupTimeoutMs`) and no retransmit: a lookup has α queries and many candidates,
 * so a lost one costs nothing. Only when a lookup would end without a single answer (nobody
 * new to ask, nothing in flight) does loss decide the outcome: a node that knows one or two
 * peers, a join. Then the contacts that failed are asked again, all together, each up to
 * this many times in all. That costs a datagram per contact, only on a node that is nearly
 * cut off. (Where the candidates come from, the table or the bootstrap nodes when the table
 * is empty, is the seeds' business: lookup-runner.ts.)
 */
export const LOOKUP_ATTEMPTS = 2;

/**
 * Attempts of each PING to a bootstrap node (the first and three retransmits). The join is
 * the one exchange with nobody to fall back on: with a single retransmit, 10% loss each way
 * lost about one join in 30 (test/faults/net-join.test.ts). Extra attempts cost nothing when
 * the node answers.
 */
export const JOIN_PING_ATTEMPTS = 4;

/** A lookup query unanswered after lookupTimeoutMs / this no longer holds one of the α slots. */
export const SLOW_QUERY_DIVISOR = 4;

/** Queries in flight per lookup, slow ones included, as a multiple of α: bounds a lookup stuck on slow peers. */
export const MAX_OUTSTANDING_PER_ALPHA = 3;

/** Strangers being verified with a PING at once: forged sources cannot make us send more. */
export const MAX_PENDING_VERIFICATIONS = 64;

/** Values re-replicated per maintenance pass at least, so a small store is handed on promptly. */
export const MIN_REPLICATIONS_PER_PASS = 32;

/** Share of `maxValues` one source (IPv4 address or IPv6 /64) may hold: one flooder cannot fill the store. */
export const MAX_VALUES_PER_SOURCE_DIVISOR = 20;

/** ms per write-token epoch; a token is accepted for one to two epochs (BEP 5 uses 5-10 min). */
export const TOKEN_ROTATE_MS = 5 * MINUTE;

/** Write tokens kept computed: a busy node answers the same peers often. */
export const TOKEN_CACHE_ENTRIES = 4096;
