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
  // --- Rendezvous and hole punching (rendezvous-server.ts, registrar.ts, puncher.ts) ---
  /**
   * ms a registration lasts without a new REGISTER: over two keepalive intervals (25 s), so one
   * lost keepalive does not drop it, and short enough that a peer gone away is forgotten soon.
   */
  registrationTtlMs: 60_000,
  /** Registrations a rendezvous keeps at once: bounded; a full table refuses (counted). */
  maxRegistrations: 256,
  /**
   * REGISTERs per registrant prefix (IPv4 /24, IPv6 /48): 4/s holds 100 homes of one prefix at a
   * keepalive each every 25 s (neighbours behind one carrier's /24), bursts of 16 for restarts.
   */
  registerPerPrefix: { perSecond: 4, burst: 16 } as RateLimit,
  /** Punch requests per requester prefix: a few at once, then one every 2 s. */
  punchPerRequesterPrefix: { perSecond: 1 / 2, burst: 6 } as RateLimit,
  /** Punch requests per target: a home is made to punch at most this often, whoever asks. */
  punchPerTarget: { perSecond: 1 / 2, burst: 4 } as RateLimit,
  /** Punch requests a rendezvous forwards in total (each costs it two datagrams out). */
  punchOverall: { perSecond: 5, burst: 20 } as RateLimit,
  /** ms the rendezvous waits for the target's PUNCH_NOTIFIED (per attempt; one retransmit). */
  notifyTimeoutMs: 1000,
  /**
   * ms between PUNCH datagrams while punching: 100 ms, so the side whose first datagram was
   * dropped (the other NAT was not open yet) gets through one interval after the other sent.
   */
  punchIntervalMs: 100,
  /** PUNCH datagrams per punch beyond the first: 3 s in all (bench:nat-punch: cone-cone median 72 ms). */
  punchRetries: 30,
  /**
   * ms a punch session stays open after it began, so the side that succeeded first still answers
   * the other side's PUNCHes (it may not have heard our ACK yet).
   */
  punchSessionMs: 6000,
  /** Punch sessions under way at once (each sends up to 31 datagrams): bounded. */
  maxPunchSessions: 16,
  /** ms a punched path counts as open with no traffic: under conntrack's 30 s for unanswered UDP. */
  punchedFreshMs: 25_000,
  /**
   * ms a TCP simultaneous open may take: bench:nat-punch measured a median of 288 ms cone-cone
   * (50/50); 5 s leaves room for a lost SYN's first retransmit (1 s) on a slow line.
   */
  tcpPunchWindowMs: 5000,
  /** ms between connect attempts from the same port when one fails at once (e.g. a RST). */
  tcpPunchRetryMs: 100,
  /** TCP punches under way at once on the accepting side: each holds a port and a socket. */
  maxTcpPunches: 4,
} as const;
