/** The events a running peer reports as it works (the CLI logs these). */
import type { EventEmitter } from 'node:events';

export interface PeerEvents {
  /** As host: an owner's shard arrived whole and verified; the contract is active. */
  stored: [{ contract: string; owner: string; size: number }];
  /** A contract ended: expired, lapsed before its upload, or cancelled by either side. */
  ended: [{ contract: string; role: 'owner' | 'host'; counterpart: string; state: string }];
  /** A counterpart became a defaulter (it stopped honouring its side past the grace period). */
  defaulter: [{ counterpart: string }];
  /** A maintenance pass of our backups audited, cancelled or re-replicated something. */
  maintenance: [{ audited: number; failed: number; cancelled: number; replaced: number }];
}

/** Passes every peer event emitted on `from` on to `to`. */
export function relayPeerEvents(from: EventEmitter<PeerEvents>, to: EventEmitter<PeerEvents>): void {
  from.on('stored', (e) => to.emit('stored', e));
  from.on('ended', (e) => to.emit('ended', e));
  from.on('defaulter', (e) => to.emit('defaulter', e));
  from.on('maintenance', (e) => to.emit('maintenance', e));
}
