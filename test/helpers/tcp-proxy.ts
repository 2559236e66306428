/**
 * A TCP relay on 127.0.0.1 in front of a real host, for tests of what the owner does with a
 * slow or lying host: bytes to the host pass as they are; bytes from the host can be slowed
 * (a chunk at a time, with a pause between) or have one byte flipped at a given offset of the
 * connection's downstream. Closing the relay cuts every connection.
 */
import net from 'node:net';
import type { Address } from '../../src/net/address.js';

export interface RelayBehaviour {
  /** Passes the host's bytes on `bytes` at a time with `pauseMs` between (a slow line). */
  throttle?: { bytes: number; pauseMs: number };
  /** Flips the byte at this offset of each connection's downstream (a host that lies mid-stream). */
  flipAt?: number;
}

export class TcpRelay {
  /** Bytes passed from the host to the client, over all connections. */
  relayed = 0;
  /** Connections the client closed or cut before the host had finished sending. */
  cutByClient = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: net.Server,
    readonly address: Address,
  ) {}

  static async start(target: Address, behaviour: RelayBehaviour = {}): Promise<TcpRelay> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const relay = new TcpRelay(server, { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
    server.on('connection', (client) => relay.pipe(client, target, behaviour));
    return relay;
  }

  private pipe(client: net.Socket, target: Address, behaviour: RelayBehaviour): void {
    const host = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    client.setNoDelay(true);
    for (const s of [client, host]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {});
    }
    let hostDone = false;
    let sentAll = false;
    const finish = (): void => {
      sentAll = true;
      client.end();
    };
    client.on('close', () => {
      if (!sentAll) this.cutByClient++;
      host.destroy();
    });
    host.on('close', () => client.destroy());
    client.pipe(host);
    let offset = 0;
    const queue: Buffer[] = [];
    let pumping = false;
    const pump = (): void => {
      if (client.destroyed) return;
      const next = queue.shift();
      if (!next) {
        pumping = false;
        if (hostDone) finish();
        return;
      }
      pumping = true;
      client.write(next);
      this.relayed += next.length;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        pump();
      }, behaviour.throttle?.pauseMs ?? 0);
      this.timers.add(timer);
    };
    host.on('data', (data: Buffer) => {
      const chunk = Buffer.from(data);
      const flip = behaviour.flipAt;
      if (flip !== undefined && flip >= offset && flip < offset + chunk.length) chunk[flip - offset]! ^= 0xff;
      offset += chunk.length;
      if (!behaviour.throttle) {
        client.write(chunk);
        this.relayed += chunk.length;
        return;
      }
      for (let at = 0; at < chunk.length; at += behaviour.throttle.bytes) queue.push(chunk.subarray(at, at + behaviour.throttle.bytes));
      if (!pumping) pump();
    });
    host.on('end', () => {
      hostDone = true;
      if (!pumping) finish();
    });
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
