/**
 * The values a node keeps for others: bounded in count and bytes, each with an expiry.
 * Pure bookkeeping on an injected clock; the node decides what to store and when to sweep.
 */
import type { Clock } from '../util/clock.js';
import { type DhtRecord, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, supersedes } from './records.js';
import { toHex } from '../util/bytes.js';
import { MAX_VALUES_PER_SOURCE_DIVISOR } from './constants.js';

export interface StoredValue {
  key: Uint8Array;
  record: DhtRecord;
  /** Who stored it (a source key: IPv4 address or IPv6 /64). */
  source: string;
  expiresAt: number;
  /** Last time any node stored this key here; replication skips keys refreshed recently. */
  lastStoredAt: number;
}

export type StoreOutcome = 'stored' | 'SEQ_TOO_LOW' | 'SEQ_CONFLICT' | 'STORE_FULL';

export interface ValueStoreLimits {
  maxEntries: number;
  maxBytes: number;
  /** Entries one source may hold (default maxEntries / MAX_VALUES_PER_SOURCE_DIVISOR), so one flooder cannot fill the store. */
  maxEntriesPerSource?: number;
}

export class ValueStore {
  private readonly entries = new Map<string, StoredValue>();
  private readonly perSource = new Map<string, number>();
  private bytes = 0;

  constructor(
    private readonly clock: Clock,
    private readonly limits: ValueStoreLimits,
  ) {}

  get(key: Uint8Array): DhtRecord | undefined {
    const entry = this.entries.get(toHex(key));
    if (!entry) return undefined;
    if (entry.expiresAt <= this.clock.now()) {
      this.delete(toHex(key), entry);
      return undefined;
    }
    return entry.record;
  }

  /** Stores `record` (already checked with checkRecord) for `ttlMs`, keeping the highest sequence. */
  put(key: Uint8Array, record: DhtRecord, ttlMs: number, source: string): StoreOutcome {
    const hex = toHex(key);
    const now = this.clock.now();
    const current = this.entries.get(hex);
    const live = current && current.expiresAt > now ? current : undefined;
    const order = supersedes(live?.record, record);
    if (order === 'older') return 'SEQ_TOO_LOW';
    if (order === 'conflict') return 'SEQ_CONFLICT';
    const size = recordBytes(record);
    const freed = current ? recordBytes(current.record) : 0;

    if (!current && this.entries.size >= this.limits.maxEntries) return 'STORE_FULL';
    if (this.bytes - freed + size > this.limits.maxBytes) return 'STORE_FULL';
    const perSourceLimit = this.limits.maxEntriesPerSource ?? Math.max(1, Math.floor(this.limits.maxEntries / MAX_VALUES_PER_SOURCE_DIVISOR));
    if (!current && (this.perSource.get(source) ?? 0) >= perSourceLimit) return 'STORE_FULL';
    const expiresAt = Math.max(live?.expiresAt ?? 0, now + ttlMs);
    if (current) this.delete(hex, current);
    this.bytes += size;
    this.perSource.set(source, (this.perSource.get(source) ?? 0) + 1);
    // Copies: decoded fields are views into the datagram, which would otherwise stay alive.
    this.entries.set(hex, { key: Uint8Array.from(key), record: copyRecord(record), source, expiresAt, lastStoredAt: now });
    return 'stored';
  }

  /** Drops expired entries; returns how many. */
  sweep(): number {
    const now = this.clock.now();
    let n = 0;
    for (const [hex, entry] of this.entries) {
      if (entry.expiresAt <= now) {
        this.delete(hex, entry);
        n++;
      }
    }
    return n;
  }

  all(): StoredValue[] {
    return [...this.entries.values()];
  }

  get size(): number {
    return this.entries.size;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  private delete(hex: string, entry: StoredValue): void {
    this.entries.delete(hex);
    this.bytes -= recordBytes(entry.record);
    const n = (this.perSource.get(entry.source) ?? 1) - 1;
    if (n > 0) this.perSource.set(entry.source, n);
    else this.perSource.delete(entry.source);
  }
}

function copyRecord(r: DhtRecord): DhtRecord {
  const out: DhtRecord = { value: Uint8Array.from(r.value) };
  if (r.publicKey) out.publicKey = Uint8Array.from(r.publicKey);
  if (r.signature) out.signature = Uint8Array.from(r.signature);
  if (r.seq !== undefined) out.seq = r.seq;
  if (r.salt) out.salt = Uint8Array.from(r.salt);
  return out;
}

/** Bytes a sequence number is counted as. */
const SEQ_BYTES = 8;

function recordBytes(r: DhtRecord): number {
  return r.value.length + (r.publicKey ? PUBLIC_KEY_BYTES + SIGNATURE_BYTES + SEQ_BYTES : 0) + (r.salt?.length ?? 0);
}
