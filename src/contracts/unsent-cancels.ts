/**
 * Cancel notices that did not reach the host (it was away: that is often why the contract was
 * cancelled). Without a second try, a host that comes back keeps the shard and the promised
 * space until the contract ends, a month later (found by test/faults/soak.test.ts). Kept in
 * memory, tried again at most hourly, given up after a week (by then the host has answered or
 * is gone for good). Pure: the caller passes the time.
 */
import { toHex } from '../util/bytes.js';

export const UNSENT_CANCEL_DEFAULTS = {
  /** ms between tries for one notice: a returning host is told within the hour, a dead one costs a timeout an hour. */
  retryMs: 3_600_000,
  /** ms after which a notice is given up: the replay memory's week. */
  giveUpMs: 7 * 86_400_000,
  /** Notices kept at most (the oldest dropped first). */
  max: 4096,
} as const;

export interface UnsentCancel {
  contractId: Uint8Array;
  address: string;
  since: number;
  nextAt: number;
}

export class UnsentCancels {
  private readonly entries = new Map<string, UnsentCancel>();

  constructor(private readonly init: { retryMs: number; giveUpMs: number; max: number } = UNSENT_CANCEL_DEFAULTS) {}

  add(contractId: Uint8Array, address: string, now: number): void {
    const key = toHex(contractId);
    const since = this.entries.get(key)?.since ?? now;
    this.entries.delete(key);
    this.entries.set(key, { contractId, address, since, nextAt: now + this.init.retryMs });
    if (this.entries.size > this.init.max) this.entries.delete(this.entries.keys().next().value!);
  }

  /** The notice arrived: forget it. */
  sent(contractId: Uint8Array): void {
    this.entries.delete(toHex(contractId));
  }

  /** Notices to try now (each pushed back by `retryMs`); those older than `giveUpMs` are dropped. */
  due(now: number): UnsentCancel[] {
    const out: UnsentCancel[] = [];
    for (const [key, e] of this.entries) {
      if (now - e.since >= this.init.giveUpMs) this.entries.delete(key);
      else if (e.nextAt <= now) {
        e.nextAt = now + this.init.retryMs;
        out.push(e);
      }
    }
    return out;
  }

  get size(): number {
    return this.entries.size;
  }
}
