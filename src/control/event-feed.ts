/**
 * The running peer's recent events (what the log writes: contracts stored and ended, audits,
 * backups, restores), kept in a bounded ring for `GET /events` and pushed to listeners (the
 * web page's live stream). Bounded by design: a peer running for months keeps only the last
 * `capacity` events in memory; dbs.log has the rest.
 */

export interface PeerEventEntry {
  /** Sequence number, from 1: a client that missed some can tell. */
  seq: number;
  /** ms since the epoch. */
  at: number;
  level: 'info' | 'warn';
  /** The event's name, as in dbs.log (`backup-done`, `contract-ended`, ...). */
  event: string;
  /** The human line, when the event has one. */
  text: string | null;
}

/** Events kept by default: a screenful of history for a page that opens late. */
export const DEFAULT_EVENT_CAPACITY = 200;

export class EventFeed {
  private readonly ring: PeerEventEntry[] = [];
  private seq = 0;
  private readonly listeners = new Set<(e: PeerEventEntry) => void>();

  constructor(
    private readonly capacity = DEFAULT_EVENT_CAPACITY,
    private readonly now: () => number = Date.now,
  ) {}

  push(level: PeerEventEntry['level'], event: string, text?: string): void {
    const entry: PeerEventEntry = { seq: ++this.seq, at: this.now(), level, event, text: text ?? null };
    this.ring.push(entry);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const l of this.listeners) l(entry);
  }

  /** The most recent `limit` events, newest first. */
  recent(limit = this.capacity): PeerEventEntry[] {
    return this.ring.slice(-Math.max(0, limit)).reverse();
  }

  /** Calls `listener` with every new event; returns the unsubscribe function. */
  subscribe(listener: (e: PeerEventEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
