/**
 * The punches under way on one peer (pure: no sockets, no timers): for each nonce, the address
 * the other side punches from. A PUNCH is answered only when its nonce is one of ours and it
 * comes from that very address, so a PUNCH from anyone else (a scan, a replay from elsewhere)
 * gets no answer at all. Bounded in number and in time.
 */
import { type Address, formatAddress } from '../net/address.js';
import { toHex } from '../util/bytes.js';

export interface PunchSessionSettings {
  /** ms a session stays open after it began. */
  sessionMs: number;
  maxSessions: number;
}

interface Session {
  peer: string;
  until: number;
  punched: boolean;
}

export class PunchSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly settings: PunchSessionSettings) {}

  /** Opens a session; false when too many are under way (or the nonce is taken). */
  open(nonce: Uint8Array, peer: Address, now: number): boolean {
    this.prune(now);
    const key = toHex(nonce);
    if (this.sessions.has(key) || this.sessions.size >= this.settings.maxSessions) return false;
    this.sessions.set(key, { peer: formatAddress(peer), until: now + this.settings.sessionMs, punched: false });
    return true;
  }

  /** A PUNCH (or PUNCH_ACK) with `nonce` came from `from`: true if it belongs to a session (now punched). */
  arrived(nonce: Uint8Array, from: Address, now: number): boolean {
    const s = this.sessions.get(toHex(nonce));
    if (!s || s.until <= now || s.peer !== formatAddress(from)) return false;
    s.punched = true;
    return true;
  }

  /** Whether the session of `nonce` saw the other side. */
  punched(nonce: Uint8Array): boolean {
    return this.sessions.get(toHex(nonce))?.punched === true;
  }

  get size(): number {
    return this.sessions.size;
  }

  private prune(now: number): void {
    for (const [key, s] of this.sessions) if (s.until <= now) this.sessions.delete(key);
  }
}
