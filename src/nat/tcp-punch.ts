/**
 * The I/O of a TCP simultaneous open: both sides `connect()` at once, each from a port of its
 * own to the other's; the crossing SYNs open both NATs and the kernel makes one connection of
 * them (RFC 793's simultaneous open). Node cannot connect from the port its TCP server listens
 * on (no SO_REUSEPORT for client sockets), so each side uses a second, free port; on a
 * port-preserving NAT (the lab's `masquerade`, most home routers) that is also its external port.
 */
import net, { type Socket } from 'node:net';
import type { Address } from '../net/address.js';
import type { Clock } from '../util/clock.js';
import { PunchError } from './errors.js';

/** A TCP port free on `host` right now (the system picks it; the listener is closed at once). */
export function freeTcpPort(host = '0.0.0.0'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface SimultaneousOpenInit {
  clock: Clock;
  windowMs: number;
  retryMs: number;
}

/**
 * Connects from `localPort` to `remote` until the connection is up or `windowMs` has passed
 * (PunchError TIMEOUT). An attempt that fails at once (a RST, the port still held by the last
 * attempt) is retried after `retryMs`; one still waiting for its SYN's answer is left to the
 * kernel's retransmits.
 */
export function simultaneousOpen(remote: Address, localPort: number, init: SimultaneousOpenInit): Promise<Socket> {
  const { clock } = init;
  return new Promise((resolve, reject) => {
    let current: Socket | null = null;
    let retry: ReturnType<Clock['setTimeout']> | null = null;
    let done = false;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      clock.clearTimeout(deadline);
      if (retry) clock.clearTimeout(retry);
      if (err) {
        current?.destroy();
        reject(err);
      } else resolve(current!);
    };
    const deadline = clock.setTimeout(() => finish(new PunchError('TIMEOUT', `no TCP connection with ${remote.host}:${remote.port} from port ${localPort} within ${init.windowMs} ms`)), init.windowMs);
    const attempt = () => {
      if (done) return;
      const socket = net.connect({ host: remote.host, port: remote.port, localPort, noDelay: true, allowHalfOpen: true });
      current = socket;
      socket.once('connect', () => finish(null));
      // Once connected, errors are the caller's (its listeners get them too); this one only retries.
      socket.once('error', () => {
        if (done) return;
        socket.destroy();
        retry = clock.setTimeout(attempt, init.retryMs);
      });
    };
    attempt();
  });
}
