/**
 * Asks contacts to dial us back (AutoNAT-style) and keeps the verdict per protocol
 * (reachability.ts: one result per prober network prefix, two must agree).
 *
 * UDP: the prober sends DIAL_PROBE with our nonce from a socket we never sent to; it counts as
 * reachable only if that datagram reaches us, which we see ourselves. TCP: the prober connects
 * from a fresh port and says whether it got through (a liar is one prefix's vote).
 */
import { randomBytes } from 'node:crypto';
import type { Address } from '../net/address.js';
import type { Contact } from '../net/node-id.js';
import type { RpcEndpoint } from '../rpc/rpc.js';
import { toHex } from '../util/bytes.js';
import type { Clock } from '../util/clock.js';
import { prefixKey } from '../util/ip.js';
import { NAT_DEFAULTS } from './constants.js';
import { DialBack, DialBackResult, DialProbe, NONCE_BYTES } from './messages.js';
import { type Protocol, type Reachability, ReachabilityTracker } from './reachability.js';

export interface ReachabilityCheckComponents {
  rpc: Pick<RpcEndpoint, 'handle' | 'request'>;
  clock: Clock;
  /** Who may be asked: our DHT contacts. */
  contacts: () => Contact[];
}

export interface ReachabilityCheckInit {
  probersPerCheck: number;
  requestTimeoutMs: number;
  probeGraceMs: number;
}

export interface ReachabilityVerdict {
  udp: Reachability;
  tcp: Reachability;
}

export class ReachabilityCheck {
  private readonly tracker = new ReachabilityTracker();
  /** Nonces of dial-backs under way, and whether their UDP probe arrived. */
  private readonly pending = new Map<string, boolean>();
  private readonly init: ReachabilityCheckInit;
  /** Probes that arrived with a nonce we did not ask for (late, or someone else's guess). */
  unexpectedProbes = 0;

  constructor(
    private readonly components: ReachabilityCheckComponents,
    init: Partial<ReachabilityCheckInit> = {},
  ) {
    this.init = {
      probersPerCheck: init.probersPerCheck ?? NAT_DEFAULTS.probersPerCheck,
      requestTimeoutMs: init.requestTimeoutMs ?? NAT_DEFAULTS.dialBackRequestTimeoutMs,
      probeGraceMs: init.probeGraceMs ?? NAT_DEFAULTS.probeGraceMs,
    };
    components.rpc.handle(DialProbe, (body) => {
      const hex = toHex(body.nonce);
      if (this.pending.has(hex)) this.pending.set(hex, true);
      else this.unexpectedProbes++;
      return undefined;
    });
  }

  /** The verdict so far, per protocol. */
  verdict(): ReachabilityVerdict {
    const now = this.components.clock.now();
    return { udp: this.tracker.get('udp', now), tcp: this.tracker.get('tcp', now) };
  }

  /**
   * Asks up to `probersPerCheck` contacts, each in another network prefix than the others and
   * than us, to dial `to` (default: wherever they see our request come from).
   */
  async run(options: { to?: Address; self?: Address } = {}): Promise<ReachabilityVerdict> {
    const ownPrefix = options.self ? prefixKey(options.self.host) : null;
    const prefixes = new Set<string>();
    const probers: Contact[] = [];
    for (const c of this.components.contacts()) {
      const prefix = prefixKey(c.host);
      if (prefix === ownPrefix || prefixes.has(prefix)) continue;
      prefixes.add(prefix);
      probers.push(c);
      if (probers.length >= this.init.probersPerCheck) break;
    }
    await Promise.all(probers.map((p) => this.ask(p, options.to)));
    return this.verdict();
  }

  private async ask(prober: Contact, to: Address | undefined): Promise<void> {
    const { rpc, clock } = this.components;
    const nonce = new Uint8Array(randomBytes(NONCE_BYTES));
    const hex = toHex(nonce);
    this.pending.set(hex, false);
    try {
      const res = await rpc.request(prober, DialBack, { nonce, ...(to ? { to } : {}) }, DialBackResult, { timeoutMs: this.init.requestTimeoutMs, retries: 0 });
      // The probe went out before the TCP attempt; give it a moment if it is not here yet.
      if (!this.pending.get(hex) && res.body.udp) await new Promise<void>((r) => clock.setTimeout(r, this.init.probeGraceMs));
      const prefix = prefixKey(prober.host);
      const now = clock.now();
      this.record('udp', prefix, this.pending.get(hex) === true, now);
      this.record('tcp', prefix, res.body.tcp, now);
    } catch {
      // A prober that refused or did not answer says nothing about us.
    } finally {
      this.pending.delete(hex);
    }
  }

  private record(protocol: Protocol, prefix: string, ok: boolean, now: number): void {
    this.tracker.record(protocol, prefix, ok, now);
  }

  /** Forgets every result (our address changed). */
  clear(): void {
    this.tracker.clear();
  }
}
