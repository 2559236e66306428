/**
 * A lossy network under the code being tested: wraps a real Transport (the peer's UDP socket)
 * and drops, delays and so reorders the datagrams it sends, from a seeded random sequence.
 * Nothing above the transport knows: the DHT, the RPC retries and the contract protocol see
 * what they would see on a bad link. Use it with `PeerOptions.wrapTransport`.
 */
import type { Address } from '../../src/net/address.js';
import type { Transport } from '../../src/transport/transport.js';

export interface Faults {
  /** Share of outgoing datagrams dropped (0..1). */
  drop: number;
  /** Share of the datagrams not dropped that are held back before sending (0..1). */
  delay: number;
  /** A held-back datagram waits a random time up to this (ms); later ones overtake it. */
  maxDelayMs: number;
  /** Seed of the random sequence, so a failing run can be replayed. */
  seed: number;
}

export interface FaultCounters {
  sent: number;
  dropped: number;
  delayed: number;
}

/** mulberry32 (shared with the benchmarks): small, fast, and good enough to pick which datagram to lose. */
import { seededRandom } from '../../bench/common.js';

export { seededRandom };

export class FaultyTransport implements Transport {
  readonly counters: FaultCounters = { sent: 0, dropped: 0, delayed: 0 };
  private readonly random: () => number;
  private readonly held = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly inner: Transport,
    private readonly faults: Faults,
  ) {
    this.random = seededRandom(faults.seed);
  }

  get address(): Address {
    return this.inner.address;
  }

  send(datagram: Uint8Array, to: Address): void {
    if (this.closed) return;
    this.counters.sent++;
    if (this.random() < this.faults.drop) {
      this.counters.dropped++;
      return;
    }
    if (this.random() < this.faults.delay) {
      this.counters.delayed++;
      // Real time on purpose: this stands for the wire, not for the peer's clock.
      const timer = setTimeout(() => {
        this.held.delete(timer);
        if (!this.closed) this.inner.send(datagram, to);
      }, Math.floor(this.random() * this.faults.maxDelayMs));
      this.held.add(timer);
      return;
    }
    this.inner.send(datagram, to);
  }

  onDatagram(handler: (datagram: Uint8Array, from: Address) => void): void {
    this.inner.onDatagram(handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.held) clearTimeout(t);
    this.held.clear();
    await this.inner.close();
  }
}
