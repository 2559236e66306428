/**
 * A TCP stream to a peer behind a NAT, over a path whose UDP side is already punched
 * (puncher.ts): the shard transfer (src/transfer) is framed over TCP, so it needs one.
 *
 * A (the owner) picks a free local port and sends TCP_PUNCH with it over the punched UDP path;
 * B answers TCP_PUNCH_READY with its own free port, and both connect to each other at once
 * (tcp-punch.ts). B hands the connection to whoever accepts streams (the transfer server), as if
 * it had been accepted on its listening port. The external ports are predicted as the local ones:
 * right on port-preserving NATs, wrong on others (then the open times out: PunchError TIMEOUT).
 *
 * Limits: B answers only a peer it punched a UDP path with lately, connects only to that peer's
 * host (never a third party's), and runs at most `maxUnderWay` at once; refusals are counted.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { type Address, canonicalHost } from '../net/address.js';
import type { Contact } from '../net/node-id.js';
import { ErrorReply, type Reply, type RpcEndpoint } from '../rpc/rpc.js';
import type { Clock } from '../util/clock.js';
import { NAT_DEFAULTS } from './constants.js';
import { PUNCH_NONCE_BYTES, RendezvousRefusal, TcpPunch, TcpPunchReady } from './punch-messages.js';
import { freeTcpPort, simultaneousOpen } from './tcp-punch.js';

export interface TcpPuncherComponents {
  rpc: Pick<RpcEndpoint, 'handle' | 'request'>;
  clock: Clock;
  /** Whether a UDP path with `peer` was punched lately (puncher.ts). */
  punchedRecently(peer: Address): boolean;
  /** Takes a stream B opened for a peer (the transfer server serves it); absent: such streams are closed. */
  accept?(socket: Socket, peer: Address): void;
}

export interface TcpPuncherInit {
  windowMs: number;
  retryMs: number;
  maxUnderWay: number;
  requestTimeoutMs: number;
}

export interface TcpPunchCounters {
  opened: number;
  accepted: number;
  failed: number;
  refused: number;
}

export class TcpPuncher {
  readonly counters: TcpPunchCounters = { opened: 0, accepted: 0, failed: 0, refused: 0 };
  private readonly init: TcpPuncherInit;
  private underWay = 0;
  /** Who takes the streams we open for others (set once the transfer server runs). */
  acceptor: ((socket: Socket, peer: Address) => void) | null;

  constructor(
    private readonly components: TcpPuncherComponents,
    init: Partial<TcpPuncherInit> = {},
  ) {
    this.init = {
      windowMs: init.windowMs ?? NAT_DEFAULTS.tcpPunchWindowMs,
      retryMs: init.retryMs ?? NAT_DEFAULTS.tcpPunchRetryMs,
      maxUnderWay: init.maxUnderWay ?? NAT_DEFAULTS.maxTcpPunches,
      requestTimeoutMs: init.requestTimeoutMs ?? NAT_DEFAULTS.dialBackRequestTimeoutMs,
    };
    this.acceptor = components.accept ?? null;
    components.rpc.handle(TcpPunch, (body, from) => this.onTcpPunch(body.port, body.nonce, from));
  }

  /** Opens a TCP stream to `peer` (its UDP path punched first). Throws PunchError TIMEOUT or RpcError. */
  async open(peer: Address): Promise<Socket> {
    const { rpc, clock } = this.components;
    const localPort = await freeTcpPort();
    const nonce = new Uint8Array(randomBytes(PUNCH_NONCE_BYTES));
    const { body } = await rpc.request(peer, TcpPunch, { nonce, port: localPort }, TcpPunchReady, { timeoutMs: this.init.requestTimeoutMs, retries: 1 });
    try {
      const socket = await simultaneousOpen({ host: peer.host, port: body.port }, localPort, { clock, windowMs: this.init.windowMs, retryMs: this.init.retryMs });
      this.counters.opened++;
      return socket;
    } catch (err) {
      this.counters.failed++;
      throw err;
    }
  }

  private async onTcpPunch(port: number, nonce: Uint8Array, from: Contact): Promise<Reply> {
    const { clock, punchedRecently } = this.components;
    if (!punchedRecently(from) || this.underWay >= this.init.maxUnderWay || !this.acceptor) {
      this.counters.refused++;
      return { spec: ErrorReply, body: { code: RendezvousRefusal.TCP_PUNCH_REFUSED, message: 'TCP_PUNCH_REFUSED' } };
    }
    const localPort = await freeTcpPort();
    // Only ever the requester's own host: the port is its word, the host is where it sent from.
    const remote = { host: canonicalHost(from.host), port };
    this.underWay++;
    void simultaneousOpen(remote, localPort, { clock, windowMs: this.init.windowMs, retryMs: this.init.retryMs })
      .then(
        (socket) => {
          this.counters.accepted++;
          if (this.acceptor) this.acceptor(socket, { host: from.host, port: from.port });
          else socket.destroy();
        },
        () => this.counters.failed++,
      )
      .finally(() => this.underWay--);
    return { spec: TcpPunchReady, body: { nonce, port: localPort } };
  }
}
