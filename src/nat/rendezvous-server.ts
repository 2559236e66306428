/**
 * The rendezvous's side of hole punching: it keeps registrations of NATed peers (REGISTER, their
 * keepalive) and passes punch requests on to them (PUNCH_REQUEST → PUNCH_NOTIFY → PUNCH_READY).
 *
 * What it must not allow (docs/security.md, "Rendezvous abuse"):
 * - being aimed at a third party: it sends PUNCH_NOTIFY only to a registered address, and a
 *   registration needs a cookie that only someone receiving at that address has seen;
 * - being an amplifier: one PUNCH_REQUEST costs it at most two NOTIFYs (one retransmit) and one
 *   answer, each about the request's size; a requester whose address it has not verified gets
 *   only a cookie back (as CONTRACT_PROPOSE's ADDRESS_UNPROVEN), so a forged source cannot make a
 *   registered peer punch toward a victim;
 * - being a free service at scale: requests are rate-limited per requester prefix, per target and
 *   in total; the table is bounded. Every refusal is counted.
 * A peer that is not reachable itself refuses to be a rendezvous (it could not be asked).
 */
import { type Address, canonicalHost, formatAddress } from '../net/address.js';
import type { Contact } from '../net/node-id.js';
import { ErrorReply, type Reply, type RpcEndpoint } from '../rpc/rpc.js';
import { ProposalCookies } from '../contracts/address-cookies.js';
import type { Clock } from '../util/clock.js';
import { prefixKey } from '../util/ip.js';
import { type RateLimit, RateLimiter } from '../util/rate-limiter.js';
import { NAT_DEFAULTS } from './constants.js';
import { PunchNotified, PunchNotify, PunchReady, type PunchRequestBody, PunchRequest, Register, Registered, RendezvousRefusal } from './punch-messages.js';
import { Registrations } from './registrations.js';

export interface RendezvousServerComponents {
  rpc: Pick<RpcEndpoint, 'handle' | 'request'>;
  clock: Clock;
  /** Whether strangers can reach us (we are not client-only): only then do we serve. */
  reachable(): boolean;
  /** Whether `from` is a verified contact at that address (it answered our requests). */
  isProven(from: Contact): boolean;
}

export interface RendezvousServerInit {
  ttlMs: number;
  maxRegistrations: number;
  registerPerPrefix: RateLimit;
  perRequesterPrefix: RateLimit;
  perTarget: RateLimit;
  overall: RateLimit;
  notifyTimeoutMs: number;
}

export interface RendezvousCounters {
  registered: number;
  renewed: number;
  /** Punch requests passed on to a registered peer that answered. */
  forwarded: number;
  refusedNotRendezvous: number;
  refusedFull: number;
  refusedRate: number;
  refusedUnregistered: number;
  /** Registrations and punch requests answered with a cookie (address not proven yet). */
  cookiesSent: number;
  targetSilent: number;
}

/** What REGISTER cookies are bound to, besides the address (PUNCH_REQUEST's bind to its nonce). */
const REGISTER_LABEL = new TextEncoder().encode('dbs-register-v1');

export class RendezvousServer {
  readonly counters: RendezvousCounters = {
    registered: 0,
    renewed: 0,
    forwarded: 0,
    refusedNotRendezvous: 0,
    refusedFull: 0,
    refusedRate: 0,
    refusedUnregistered: 0,
    cookiesSent: 0,
    targetSilent: 0,
  };
  private readonly init: RendezvousServerInit;
  private readonly table: Registrations;
  private readonly cookies: ProposalCookies;
  private readonly registerLimiter: RateLimiter;
  private readonly requesterLimiter: RateLimiter;
  private readonly targetLimiter: RateLimiter;

  constructor(
    private readonly components: RendezvousServerComponents,
    init: Partial<RendezvousServerInit> = {},
  ) {
    this.init = {
      ttlMs: init.ttlMs ?? NAT_DEFAULTS.registrationTtlMs,
      maxRegistrations: init.maxRegistrations ?? NAT_DEFAULTS.maxRegistrations,
      registerPerPrefix: init.registerPerPrefix ?? NAT_DEFAULTS.registerPerPrefix,
      perRequesterPrefix: init.perRequesterPrefix ?? NAT_DEFAULTS.punchPerRequesterPrefix,
      perTarget: init.perTarget ?? NAT_DEFAULTS.punchPerTarget,
      overall: init.overall ?? NAT_DEFAULTS.punchOverall,
      notifyTimeoutMs: init.notifyTimeoutMs ?? NAT_DEFAULTS.notifyTimeoutMs,
    };
    const { clock, rpc } = components;
    this.table = new Registrations({ ttlMs: this.init.ttlMs, maxEntries: this.init.maxRegistrations });
    // Cookies turn over at the registration lifetime: the next keepalive's cookie is still good.
    this.cookies = new ProposalCookies(clock, this.init.ttlMs);
    this.registerLimiter = new RateLimiter(this.init.registerPerPrefix, clock);
    this.requesterLimiter = new RateLimiter(this.init.perRequesterPrefix, clock, 10_000, this.init.overall);
    this.targetLimiter = new RateLimiter(this.init.perTarget, clock);
    rpc.handle(Register, (body, from) => this.onRegister(body.cookie, from));
    rpc.handle(PunchRequest, (body, from) => this.onPunchRequest(body, from));
  }

  /** Registrations in force now. */
  get registrations(): number {
    return this.table.count(this.components.clock.now());
  }

  private onRegister(cookie: Uint8Array | undefined, from: Contact): Reply {
    if (!this.components.reachable()) return this.refuse('NOT_RENDEZVOUS', 'refusedNotRendezvous');
    if (!this.registerLimiter.take(prefixKey(canonicalHost(from.host)))) return this.refuse('RATE_LIMITED', 'refusedRate');
    const fresh = this.cookies.issue(from, REGISTER_LABEL);
    if (!this.cookies.check(from, REGISTER_LABEL, cookie)) {
      this.counters.cookiesSent++;
      return { spec: Registered, body: { ok: false, ttlMs: this.init.ttlMs, cookie: fresh } };
    }
    const outcome = this.table.register(from, this.components.clock.now());
    if (outcome === 'full') return this.refuse('TABLE_FULL', 'refusedFull');
    this.counters[outcome]++;
    return { spec: Registered, body: { ok: true, ttlMs: this.init.ttlMs, cookie: fresh } };
  }

  private async onPunchRequest(body: PunchRequestBody, from: Contact): Promise<Reply> {
    const { clock, rpc, isProven } = this.components;
    if (!this.components.reachable()) return this.refuse('NOT_RENDEZVOUS', 'refusedNotRendezvous');
    // Unregistered targets first: nothing is sent, whoever asks.
    if (!this.table.has(body.target, clock.now())) return this.refuse('NOT_REGISTERED', 'refusedUnregistered');
    if (!isProven(from) && !this.cookies.check(from, body.nonce, body.cookie)) {
      this.counters.cookiesSent++;
      return { spec: PunchReady, body: { cookie: this.cookies.issue(from, body.nonce) } };
    }
    if (!this.requesterLimiter.take(prefixKey(canonicalHost(from.host))) || !this.targetLimiter.take(formatAddress(body.target))) {
      return this.refuse('RATE_LIMITED', 'refusedRate');
    }
    const peer: Address = { host: from.host, port: from.port };
    try {
      await rpc.request(body.target, PunchNotify, { peer, nonce: body.nonce }, PunchNotified, { timeoutMs: this.init.notifyTimeoutMs, retries: 1 });
    } catch {
      this.counters.targetSilent++;
      return refusal('TARGET_SILENT');
    }
    this.counters.forwarded++;
    return { spec: PunchReady, body: { target: body.target } };
  }

  private refuse(code: keyof typeof RendezvousRefusal, counter: keyof RendezvousCounters): Reply {
    this.counters[counter]++;
    return refusal(code);
  }
}

function refusal(code: keyof typeof RendezvousRefusal): Reply {
  return { spec: ErrorReply, body: { code: RendezvousRefusal[code], message: code } };
}
