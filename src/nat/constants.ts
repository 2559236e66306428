/**
 * Every default of src/nat (reachability checks and dial-backs, port mapping), each with its unit
 * and the reason for its value. Options are applied once where each component is built.
 */
import type { RateLimit } from '../util/rate-limiter.js';

const MINUTE = 60_000;

export const NAT_DEFAULTS = {
  /** ms a dial-back's TCP connection may take: a WAN round trip many times over. */
  dialBackTcpTimeoutMs: 2000,
  /** ms the requester waits for DIAL_BACK_RESULT: the TCP attempt plus the request itself. */
  dialBackRequestTimeoutMs: 4000,
  /** ms the requester still waits for the UDP probe once the result is in (the probe went first). */
  probeGraceMs: 500,
  /**
   * Dial-backs per requester network prefix (IPv4 /24, IPv6 /48): four at once, then one every
   * 10 s. A peer checks a few times an hour, but neighbours behind one carrier-grade NAT share a
   * prefix; more than this is probing through us.
   */
  dialBackPerPrefix: { perSecond: 1 / 10, burst: 4 } as RateLimit,
  /** Dial-backs in total: one a second, bursts of 10, so a flood of forged sources sends little. */
  dialBackOverall: { perSecond: 1, burst: 10 } as RateLimit,
  /** Contacts (in distinct prefixes) asked per reachability check: the tracker needs 2 to agree. */
  probersPerCheck: 3,
  /** ms between reachability checks: routers' forwarding and our address can change. */
  reachabilityIntervalMs: 30 * MINUTE,
  /**
   * ms between keepalives of a client-only peer to each rendezvous: under the 30 s a Linux home
   * router keeps an unanswered UDP mapping (RFC 4787 asks for 2 min; many routers use 30-60 s).
   */
  keepaliveIntervalMs: 25_000,
  /** Rendezvous a client-only peer keeps mappings open to, in distinct network prefixes. */
  rendezvousCount: 3,
  /** s a port mapping is asked for: 2 h, renewed at half (routers may cap it lower). */
  mappingTtlSeconds: 7200,
  /** ms a mapping request (discovery included) may take before the router counts as without one. */
  mappingTimeoutMs: 10_000,
} as const;
