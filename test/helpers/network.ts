/** Builds small real-UDP networks on 127.0.0.1 for tests, and tears them down. */
import dgram from 'node:dgram';
import { DhtNode, type DhtNodeOptions } from '../../src/dht/node.js';
import type { Address } from '../../src/net/address.js';
import { nodeIdFromAddress } from '../../src/net/node-id.js';
import { decodeMessage, encodeMessage, type Envelope, type MessageSpec } from '../../src/wire/codec.js';

/** Options for single-host test networks: every node shares 127.0.0.1. */
export const LOOPBACK: DhtNodeOptions = {
  host: '127.0.0.1',
  maxPerIpPerBucket: Infinity,
  rateLimit: null,
  // Generous: on a loaded 2-core machine a live node must never look dead. Tests that
  // wait for a timeout set short ones themselves.
  lookupTimeoutMs: 2000,
  requestTimeoutMs: 2000,
  retries: 0,
};

/** Starts `n` nodes, each joining through the first. */
export async function startNetwork(n: number, options: DhtNodeOptions = {}): Promise<DhtNode[]> {
  const nodes: DhtNode[] = [];
  try {
    nodes.push(await DhtNode.create({ ...LOOPBACK, ...options }));
    for (let i = 1; i < n; i++) nodes.push(await DhtNode.create({ ...LOOPBACK, ...options, bootstrap: [nodes[0]!.address] }));
    return nodes;
  } catch (err) {
    await closeAll(nodes);
    throw err;
  }
}

export async function closeAll(nodes: Iterable<DhtNode>): Promise<void> {
  await Promise.all([...nodes].map((n) => n.close()));
}

/** A bare UDP socket that speaks (or mangles) the wire format by hand. */
export class RawPeer {
  readonly received: { envelope: Envelope; from: Address }[] = [];
  private waiters: (() => void)[] = [];
  /** When set, answers each incoming request with what it returns (same transaction ID). */
  autoReply: ((envelope: Envelope) => { spec: MessageSpec<any>; body: unknown; observed?: Address } | undefined) | undefined;

  private constructor(
    readonly socket: dgram.Socket,
    readonly address: Address,
  ) {
    socket.on('message', (msg, rinfo) => {
      try {
        const envelope = decodeMessage(msg);
        const from = { host: rinfo.address, port: rinfo.port };
        this.received.push({ envelope, from });
        const reply = !envelope.spec.isResponse ? this.autoReply?.(envelope) : undefined;
        if (reply) void this.send(encodeMessage(reply.spec, envelope.txid, this.id, reply.body, { observed: reply.observed ?? from }), from);
      } catch {
        return;
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** The node ID that matches this socket's address. */
  get id(): Uint8Array {
    return nodeIdFromAddress(this.address);
  }

  /** Messages of one type received so far. */
  ofType(spec: MessageSpec<any>): Envelope[] {
    return this.received.filter((r) => r.envelope.type === spec.type).map((r) => r.envelope);
  }

  /** A socket on `host` (any 127.x.y.z address is loopback on Linux: other /24s are other networks). */
  static async open(host = '127.0.0.1'): Promise<RawPeer> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, host, resolve));
    return new RawPeer(socket, { host, port: socket.address().port });
  }

  send(datagram: Uint8Array, to: Address): Promise<void> {
    return new Promise((resolve) => this.socket.send(datagram, to.port, to.host, () => resolve()));
  }

  /** Resolves once `count` valid messages have arrived in total. */
  async waitFor(count: number): Promise<void> {
    while (this.received.length < count) await new Promise<void>((r) => this.waiters.push(r));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** Waits until `predicate` holds, checking after each I/O turn; gives up after `deadlineMs`. */
export async function until(predicate: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}
