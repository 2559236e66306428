/**
 * UDP transport on node:dgram. The bound host is a literal IP: the address peers see (our node
 * ID is derived from it), or a wildcard (0.0.0.0, ::) for a node that works out its external
 * address from what peers observe (the DHT runs read-only until then; src/dht/self-address.ts).
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { type Address, canonicalHost } from '../net/address.js';
import type { Transport } from './transport.js';

export class UdpTransport implements Transport {
  private handler: (datagram: Uint8Array, from: Address) => void = () => {};
  private closed = false;
  /** Socket-level send errors (unreachable, no buffer space): counted, never thrown. */
  sendErrors = 0;

  private constructor(
    private readonly socket: dgram.Socket,
    readonly address: Address,
  ) {
    socket.on('message', (msg, rinfo) => {
      this.handler(msg, { host: canonicalHost(rinfo.address), port: rinfo.port });
    });
    // A UDP socket reports ICMP errors asynchronously; they are lost packets to us.
    socket.on('error', () => {
      this.sendErrors++;
    });
  }

  static async bind(host: string, port: number): Promise<UdpTransport> {
    const family = isIP(host);
    if (family === 0) throw new Error(`host "${host}" is not an IP address: give the address peers reach this node at`);
    const canonical = canonicalHost(host);
    // '::' listens on IPv4 too (dual stack), so a wildcard peer is reachable either way.
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6 && canonical !== '::' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new UdpTransport(socket, { host: canonical, port: socket.address().port });
  }

  send(datagram: Uint8Array, to: Address): void {
    if (this.closed) return;
    try {
      this.socket.send(datagram, to.port, to.host, (err) => {
        if (err) this.sendErrors++;
      });
    } catch {
      // Synchronous refusals (a bad port, a closed socket) are lost packets too.
      this.sendErrors++;
    }
  }

  onDatagram(handler: (datagram: Uint8Array, from: Address) => void): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
