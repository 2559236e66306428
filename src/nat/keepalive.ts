/**
 * Keepalives that hold a client-only peer's NAT mappings open: a PING to each of a few reachable
 * contacts (rendezvous, in distinct network prefixes) every `intervalMs`, shorter than a home
 * router's UDP timeout. While a mapping holds, that contact can reach us through it: the first
 * step of hole punching (docs/nat-traversal.md). A rendezvous that stops answering is replaced at
 * the next beat.
 */
import { type Address, formatAddress } from '../net/address.js';
import type { Contact } from '../net/node-id.js';
import { type Clock, every } from '../util/clock.js';
import { prefixKey } from '../util/ip.js';

export interface KeepaliveComponents {
  clock: Clock;
  ping(address: Address): Promise<unknown>;
  /** Candidates: our DHT contacts (reachable peers: they answered us). */
  contacts(): Contact[];
}

export interface KeepaliveInit {
  intervalMs: number;
  /** Rendezvous kept at once. */
  count: number;
}

export class Keepalive {
  private current: Address[] = [];
  private stopTimer: (() => void) | null = null;
  readonly counters = { sent: 0, failed: 0 };

  constructor(
    private readonly components: KeepaliveComponents,
    private readonly init: KeepaliveInit,
  ) {}

  /** The contacts whose mappings we hold open now. */
  get rendezvous(): string[] {
    return this.current.map(formatAddress);
  }

  get running(): boolean {
    return this.stopTimer !== null;
  }

  start(): void {
    if (this.stopTimer) return;
    this.stopTimer = every(this.components.clock, this.init.intervalMs, () => void this.beat());
    void this.beat();
  }

  stop(): void {
    this.stopTimer?.();
    this.stopTimer = null;
    this.current = [];
  }

  /** Pings every rendezvous once; those that fail are dropped and others picked to fill up. */
  async beat(): Promise<void> {
    this.fill();
    const results = await Promise.all(
      this.current.map((a) =>
        this.components.ping(a).then(
          () => true,
          () => false,
        ),
      ),
    );
    this.counters.sent += results.length;
    const failed = new Set(this.current.filter((_, i) => !results[i]).map(formatAddress));
    this.counters.failed += failed.size;
    if (failed.size > 0) this.current = this.current.filter((a) => !failed.has(formatAddress(a)));
  }

  private fill(): void {
    const prefixes = new Set(this.current.map((a) => prefixKey(a.host)));
    for (const c of this.components.contacts()) {
      if (this.current.length >= this.init.count) break;
      const prefix = prefixKey(c.host);
      if (prefixes.has(prefix)) continue;
      prefixes.add(prefix);
      this.current.push({ host: c.host, port: c.port });
    }
  }
}
