/**
 * Hole punching, both sides (docs/nat-traversal.md). The side that wants a path (A) asks one of
 * the other's rendezvous to pass a punch request on (PUNCH_REQUEST); the other side (B) hears it
 * as PUNCH_NOTIFY from its rendezvous. Then both send PUNCH to each other's external address every
 * `intervalMs`: each side's first datagram opens its own NAT for the other's, and once both are
 * open a PUNCH gets its PUNCH_ACK. A peer answers PUNCH only within a session it opened, with
 * that nonce, from that address (punch-sessions.ts), and starts one only when asked by a
 * rendezvous it registered with (registrar.ts) or by its own `connect`.
 *
 * A punched path is an ordinary UDP path: HELLO, CONTRACT_PROPOSE and the DHT's messages use it
 * as they are (the peer's datagrams carry the ID of its external address, which is where they
 * now come from).
 */
import { randomBytes } from 'node:crypto';
import { type Address, formatAddress } from '../net/address.js';
import { type Reply, RpcError, type RpcEndpoint } from '../rpc/rpc.js';
import type { Contact } from '../net/node-id.js';
import type { Clock } from '../util/clock.js';
import { NAT_DEFAULTS } from './constants.js';
import { PunchError } from './errors.js';
import { Punch, PunchAck, PUNCH_NONCE_BYTES, PunchNotified, type PunchNotifyBody, PunchNotify, PunchReady, type PunchReadyBody, PunchRequest } from './punch-messages.js';
import { PunchSessions } from './punch-sessions.js';

/** Punched paths remembered (for `dbs peers` and the routing-table filter): bounded. */
const MAX_PATHS = 1024;

export interface PuncherComponents {
  rpc: Pick<RpcEndpoint, 'handle' | 'request'>;
  clock: Clock;
  /** Whether `from` is one of our rendezvous (only they may make us punch). */
  isRendezvous(from: Address): boolean;
}

export interface PuncherInit {
  intervalMs: number;
  retries: number;
  sessionMs: number;
  maxSessions: number;
  requestTimeoutMs: number;
  freshMs: number;
}

export interface PunchCounters {
  /** Punches that got through (either side). */
  punched: number;
  /** Punches that timed out. */
  failed: number;
  /** PUNCH_NOTIFYs we acted on. */
  notified: number;
  /** PUNCH_NOTIFYs from peers that are not our rendezvous, or over the session bound: ignored. */
  ignoredNotifies: number;
  /** PUNCH datagrams outside any session of ours: not answered. */
  unexpectedPunches: number;
}

/** How a punch went, for the caller and `dbs peers`. */
export interface PunchResult {
  peer: Address;
  via: Address;
  ms: number;
}

export class Puncher {
  readonly counters: PunchCounters = { punched: 0, failed: 0, notified: 0, ignoredNotifies: 0, unexpectedPunches: 0 };
  private readonly sessions: PunchSessions;
  private readonly init: PuncherInit;
  /** Paths punched, by peer address: when (ms); the latest MAX_PATHS, oldest first. */
  private readonly paths = new Map<string, number>();
  /** Peers we opened a punch session with, latest MAX_PATHS. */
  private readonly peers = new Set<string>();

  constructor(
    private readonly components: PuncherComponents,
    init: Partial<PuncherInit> = {},
  ) {
    this.init = {
      intervalMs: init.intervalMs ?? NAT_DEFAULTS.punchIntervalMs,
      retries: init.retries ?? NAT_DEFAULTS.punchRetries,
      sessionMs: init.sessionMs ?? NAT_DEFAULTS.punchSessionMs,
      maxSessions: init.maxSessions ?? NAT_DEFAULTS.maxPunchSessions,
      requestTimeoutMs: init.requestTimeoutMs ?? NAT_DEFAULTS.dialBackRequestTimeoutMs,
      freshMs: init.freshMs ?? NAT_DEFAULTS.punchedFreshMs,
    };
    this.sessions = new PunchSessions({ sessionMs: this.init.sessionMs, maxSessions: this.init.maxSessions });
    components.rpc.handle(PunchNotify, (body, from) => this.onNotify(body, from));
    components.rpc.handle(Punch, (body, from) => this.onPunch(body.nonce, from));
  }

  /** Whether a path to `peer` was punched within `freshMs` (its NAT mappings should still hold). */
  punchedRecently(peer: Address): boolean {
    const at = this.paths.get(formatAddress(peer));
    return at !== undefined && this.components.clock.now() - at < this.init.freshMs;
  }

  /**
   * Whether we punched (or began to punch) with `peer`, as long as it is remembered: such a peer
   * answers us over a path only we have, so it stays out of our routing table. Noted when the
   * session opens, since its first answer (a PUNCH_ACK) is seen as a contact before the punch ends.
   */
  punchPeer(peer: Address): boolean {
    const key = formatAddress(peer);
    return this.peers.has(key) || this.paths.has(key);
  }

  /** Addresses punched to (or from), with when: for `dbs peers`. */
  punchedPaths(): Map<string, number> {
    return new Map(this.paths);
  }

  /**
   * Opens a UDP path to `peer` (behind a NAT) through one of `rendezvous`, tried in turn.
   * Throws PunchError: NO_RENDEZVOUS, RENDEZVOUS_REFUSED, TIMEOUT or BUSY.
   */
  async connect(peer: Address, rendezvous: Address[]): Promise<PunchResult> {
    if (rendezvous.length === 0) throw new PunchError('NO_RENDEZVOUS', `${formatAddress(peer)} names no rendezvous`);
    const { clock } = this.components;
    const refusals: string[] = [];
    for (const via of rendezvous) {
      const nonce = new Uint8Array(randomBytes(PUNCH_NONCE_BYTES));
      const started = clock.now();
      // Open before asking: the other side may punch before the rendezvous's answer reaches us.
      if (!this.sessions.open(nonce, peer, started)) throw new PunchError('BUSY', 'too many punches under way');
      this.notePeer(peer);
      try {
        await this.ask(via, peer, nonce);
      } catch (err) {
        refusals.push(`${formatAddress(via)}: ${(err as Error).message}`);
        continue;
      }
      if (await this.punch(peer, nonce)) return { peer, via, ms: clock.now() - started };
      this.counters.failed++;
      throw new PunchError('TIMEOUT', `no PUNCH_ACK from ${formatAddress(peer)} (its NAT may give a new port per destination)`);
    }
    throw new PunchError('RENDEZVOUS_REFUSED', `no rendezvous passed the punch on (${refusals.join('; ')})`);
  }

  /** PUNCH_REQUEST, and once more with the cookie if the rendezvous wants our address proven. */
  private async ask(via: Address, peer: Address, nonce: Uint8Array): Promise<void> {
    const opts = { timeoutMs: this.init.requestTimeoutMs, retries: 1 };
    let cookie: Uint8Array | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      const { body } = await this.components.rpc.request(via, PunchRequest, { target: peer, nonce, ...(cookie ? { cookie } : {}) }, PunchReady, opts);
      const ready = body as PunchReadyBody;
      if (ready.target) return;
      cookie = ready.cookie;
    }
    throw new RpcError('REMOTE', 'the rendezvous kept asking for a cookie');
  }

  /** Sends PUNCH every `intervalMs` until a PUNCH_ACK comes (true) or the retries run out. */
  private async punch(peer: Address, nonce: Uint8Array): Promise<boolean> {
    const { rpc } = this.components;
    try {
      const { body } = await rpc.request(peer, Punch, { nonce }, PunchAck, { timeoutMs: this.init.intervalMs, retries: this.init.retries });
      if (Buffer.compare(body.nonce, nonce) !== 0) return false;
    } catch {
      return false;
    }
    this.counters.punched++;
    this.remember(peer);
    return true;
  }

  private onNotify(body: PunchNotifyBody, from: Contact): Reply | undefined {
    const { clock, isRendezvous } = this.components;
    if (!isRendezvous(from) || !this.sessions.open(body.nonce, body.peer, clock.now())) {
      this.counters.ignoredNotifies++;
      return undefined;
    }
    this.counters.notified++;
    this.notePeer(body.peer);
    // Punch in the background; the rendezvous hears at once that we are on it.
    void this.punch(body.peer, body.nonce).then((ok) => {
      if (!ok) this.counters.failed++;
    });
    return { spec: PunchNotified, body: { nonce: body.nonce } };
  }

  private onPunch(nonce: Uint8Array, from: Contact): Reply | undefined {
    if (!this.sessions.arrived(nonce, from, this.components.clock.now())) {
      this.counters.unexpectedPunches++;
      return undefined;
    }
    this.remember(from);
    return { spec: PunchAck, body: { nonce } };
  }

  private notePeer(peer: Address): void {
    const key = formatAddress(peer);
    this.peers.delete(key);
    this.peers.add(key);
    if (this.peers.size > MAX_PATHS) this.peers.delete(this.peers.values().next().value!);
  }

  private remember(peer: Address): void {
    const key = formatAddress(peer);
    this.paths.delete(key);
    this.paths.set(key, this.components.clock.now());
    if (this.paths.size > MAX_PATHS) this.paths.delete(this.paths.keys().next().value!);
  }
}
