/**
 * An in-memory datagram network for simulations: thousands of nodes in one process with no
 * sockets. Delivery is asynchronous (like UDP) and can drop datagrams by a given rate.
 */
import { type Address, formatAddress } from '../net/address.js';
import type { Transport } from './transport.js';

type Handler = (datagram: Uint8Array, from: Address) => void;

/** Defaults of a simulated network. */
export const DEFAULTS = {
  /** Fraction of datagrams lost: none, so a simulation is lossless unless it asks otherwise. */
  lossRate: 0,
  /** Host of an endpoint bound without one: a private address, so simulated IDs never look like real peers'. */
  host: '10.0.0.1',
  /** First port handed out when an endpoint is bound to port 0; ports then count up. */
  firstPort: 1,
} as const;

export class MemoryNetwork {
  private readonly endpoints = new Map<string, MemoryTransport>();
  private queue: { datagram: Uint8Array; from: Address; to: string }[] = [];
  private scheduled = false;
  private nextPort: number = DEFAULTS.firstPort;
  /** Datagrams handed to the network, delivered, and dropped (no receiver or by `lossRate`). */
  readonly counters = { sent: 0, delivered: 0, dropped: 0 };

  constructor(
    /** Fraction of datagrams silently lost, 0..1. */
    public lossRate: number = DEFAULTS.lossRate,
    private readonly random: () => number = Math.random,
  ) {}

  bind(host: string = DEFAULTS.host, port = 0): MemoryTransport {
    // Port 0 means "any", as with a real socket.
    const address = { host, port: port || this.nextPort++ };
    const key = formatAddress(address);
    if (this.endpoints.has(key)) throw new Error(`address ${key} already in use`);
    const t = new MemoryTransport(this, address);
    this.endpoints.set(key, t);
    return t;
  }

  /** @internal */
  deliver(datagram: Uint8Array, from: Address, to: Address): void {
    this.counters.sent++;
    this.queue.push({ datagram, from, to: formatAddress(to) });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** @internal */
  unbind(t: MemoryTransport): void {
    this.endpoints.delete(formatAddress(t.address));
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const { datagram, from, to } of batch) {
      const target = this.endpoints.get(to);
      if (!target || (this.lossRate > 0 && this.random() < this.lossRate)) {
        this.counters.dropped++;
        continue;
      }
      this.counters.delivered++;
      target.receive(datagram, from);
    }
  }
}

export class MemoryTransport implements Transport {
  private handler: Handler = () => {};
  private closed = false;

  constructor(
    private readonly network: MemoryNetwork,
    readonly address: Address,
  ) {}

  send(datagram: Uint8Array, to: Address): void {
    if (!this.closed) this.network.deliver(datagram, this.address, to);
  }

  onDatagram(handler: Handler): void {
    this.handler = handler;
  }

  /** @internal */
  receive(datagram: Uint8Array, from: Address): void {
    if (!this.closed) this.handler(datagram, from);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.network.unbind(this);
  }
}
