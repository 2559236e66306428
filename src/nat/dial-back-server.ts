/**
 * Answers DIAL_BACK: dials the requester back over UDP and TCP from ports it has never sent to.
 *
 * Abuse it must not allow (docs/security.md): a dial-back goes only to the host the request came
 * from (a request naming another host is refused with THIRD_PARTY and counted), and dial-backs
 * are rate-limited per requester network prefix and in total, so a forged source cannot turn us
 * into an amplifier or a port scanner of someone else.
 */
import { randomBytes } from 'node:crypto';
import { type Address, canonicalHost } from '../net/address.js';
import { ErrorReply, type Reply, type RpcEndpoint } from '../rpc/rpc.js';
import type { Clock } from '../util/clock.js';
import { prefixKey } from '../util/ip.js';
import { type RateLimit, RateLimiter } from '../util/rate-limiter.js';
import { encodeMessage, TXID_BYTES } from '../wire/codec.js';
import { NAT_DEFAULTS } from './constants.js';
import { type Dialer, socketDialer } from './dialer.js';
import { DialBack, DialBackRefusal, DialBackResult, DialProbe } from './messages.js';

export interface DialBackServerComponents {
  rpc: Pick<RpcEndpoint, 'handle' | 'localId'>;
  clock: Clock;
  dialer?: Dialer;
}

export interface DialBackServerInit {
  tcpTimeoutMs: number;
  perPrefix: RateLimit;
  overall: RateLimit;
}

export interface DialBackCounters {
  /** Dial-backs made. */
  served: number;
  /** Requests naming an address on another host than the requester's. */
  refusedThirdParty: number;
  /** Requests over the per-prefix or total rate. */
  refusedRate: number;
}

export class DialBackServer {
  readonly counters: DialBackCounters = { served: 0, refusedThirdParty: 0, refusedRate: 0 };
  private readonly limiter: RateLimiter;
  private readonly dialer: Dialer;
  private readonly init: DialBackServerInit;

  constructor(
    private readonly components: DialBackServerComponents,
    init: Partial<DialBackServerInit> = {},
  ) {
    this.init = {
      tcpTimeoutMs: init.tcpTimeoutMs ?? NAT_DEFAULTS.dialBackTcpTimeoutMs,
      perPrefix: init.perPrefix ?? NAT_DEFAULTS.dialBackPerPrefix,
      overall: init.overall ?? NAT_DEFAULTS.dialBackOverall,
    };
    this.limiter = new RateLimiter(this.init.perPrefix, components.clock, 10_000, this.init.overall);
    this.dialer = components.dialer ?? socketDialer;
    components.rpc.handle(DialBack, (body, from) => this.answer(body.nonce, body.to ?? from, from));
  }

  private async answer(nonce: Uint8Array, to: Address, from: Address): Promise<Reply> {
    if (canonicalHost(to.host) !== canonicalHost(from.host)) {
      this.counters.refusedThirdParty++;
      return refuse('THIRD_PARTY');
    }
    if (!this.limiter.take(prefixKey(canonicalHost(from.host)))) {
      this.counters.refusedRate++;
      return refuse('RATE_LIMITED');
    }
    this.counters.served++;
    // Read-only: the probe's socket has no ID of its own; the requester matches the nonce.
    const probe = encodeMessage(DialProbe, randomBytes(TXID_BYTES), this.components.rpc.localId, { nonce }, { readOnly: true });
    const udp = await this.dialer.udp(probe, to);
    const tcp = await this.dialer.tcp(to, this.init.tcpTimeoutMs);
    return { spec: DialBackResult, body: { udp, tcp } };
  }
}

function refuse(code: keyof typeof DialBackRefusal): Reply {
  return { spec: ErrorReply, body: { code: DialBackRefusal[code], message: code } };
}
