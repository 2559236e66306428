/**
 * Bytes a TCP client sent and received over all its connections, the open ones included (read
 * from each socket's own counters when asked), for the peer's status and the web page's rate
 * chart. Bounded: closed sockets fold into two numbers.
 */
import type { Socket } from 'node:net';

export interface TrafficTotals {
  /** Bytes written to hosts (uploads, request headers). */
  sent: number;
  /** Bytes read from hosts (downloads, audit answers). */
  received: number;
}

export class SocketMeter {
  private readonly open = new Set<Socket>();
  private closed: TrafficTotals = { sent: 0, received: 0 };

  track(socket: Socket): void {
    this.open.add(socket);
    socket.once('close', () => {
      this.open.delete(socket);
      this.closed = { sent: this.closed.sent + socket.bytesWritten, received: this.closed.received + socket.bytesRead };
    });
  }

  totals(): TrafficTotals {
    let { sent, received } = this.closed;
    for (const s of this.open) {
      sent += s.bytesWritten;
      received += s.bytesRead;
    }
    return { sent, received };
  }
}
