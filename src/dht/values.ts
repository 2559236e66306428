/**
 * Values on the DHT: putting immutable and signed records on the k closest nodes, getting
 * them back (checked), and keeping them alive: this node republishes what it put, and
 * re-replicates what it holds for others to the nodes now closest to each key.
 */
import { debuglog } from 'node:util';
import type { Clock } from '../util/clock.js';
import { type Address, formatAddress } from '../net/address.js';
import type { Contact } from '../net/node-id.js';
import { toHex } from '../util/bytes.js';
import { type SigningKeyPair, signEd25519 } from '../crypto/ed25519.js';
import { MIN_REPLICATIONS_PER_PASS } from './constants.js';
import { DhtError } from './errors.js';
import { compareDistance } from './id.js';
import type { ContactLiveness } from './liveness.js';
import type { LookupRunner } from './lookup-runner.js';
import { MAX_TTL_SECONDS, Store, Stored } from './messages.js';
import { checkRecord, type DhtRecord, immutableKey, isMutable, MAX_VALUE_BYTES, mutableKey, signedPayload } from './records.js';
import type { ValueStore } from './value-store.js';

const debug = debuglog('dht');

export interface PutResult {
  key: Uint8Array;
  /** Nodes that confirmed the STORE (this node included when it is among the closest). */
  stored: number;
  contacts: Contact[];
}

interface Published {
  key: Uint8Array;
  record: DhtRecord;
  nextAt: number;
}

export interface ValuesComponents {
  lookups: Pick<LookupRunner, 'findNode' | 'findValue'>;
  liveness: Pick<ContactLiveness, 'request'>;
  /** The values this node keeps for others. */
  store: ValueStore;
  clock: Clock;
  /** Counts a republish or replication that failed (it is tried again on a later pass). */
  counters: { maintenanceErrors: number };
}

export interface ValuesInit {
  self: Uint8Array;
  address: Address;
  k: number;
  valueTtlMs: number;
  republishIntervalMs: number;
  replicateIntervalMs: number;
  maintenanceIntervalMs: number;
}

export class DhtValues {
  private readonly published = new Map<string, Published>();

  constructor(
    private readonly components: ValuesComponents,
    private readonly init: ValuesInit,
  ) {}

  /** Stores an immutable value under SHA-1(value) on the k closest nodes. */
  async put(value: Uint8Array): Promise<PutResult> {
    const record: DhtRecord = { value: Uint8Array.from(value) };
    const key = immutableKey(record.value);
    assertValueSize(record.value);
    this.publish(key, record);
    return this.storeRecord(key, record, this.init.valueTtlMs);
  }

  /**
   * Stores a mutable record signed by `keyPair` under SHA-1(publicKey + salt). Without
   * `seq`, the current record is looked up first and the next sequence number is used.
   */
  async putSigned(keyPair: SigningKeyPair, value: Uint8Array, options: { seq?: number; salt?: Uint8Array } = {}): Promise<PutResult & { seq: number }> {
    assertValueSize(value);
    const salt = options.salt && options.salt.length > 0 ? Uint8Array.from(options.salt) : undefined;
    const key = mutableKey(keyPair.publicKey, salt);
    let seq = options.seq;
    if (seq === undefined) {
      const current = await this.get(key);
      seq = current?.seq !== undefined ? current.seq + 1 : 1;
    }
    const record: DhtRecord = {
      value: Uint8Array.from(value),
      publicKey: keyPair.publicKey,
      seq,
      signature: signEd25519(keyPair, signedPayload(seq, value, salt)),
      ...(salt ? { salt } : {}),
    };
    this.publish(key, record);
    return { ...(await this.storeRecord(key, record, this.init.valueTtlMs)), seq };
  }

  /**
   * Finds the value under `key`. Immutable values are checked against their hash and the
   * lookup stops at the first good one; for mutable records every signature is checked and
   * the highest sequence number among the closest nodes wins. Null when nobody has it.
   */
  async get(key: Uint8Array): Promise<DhtRecord | null> {
    const local = this.components.store.get(key) ?? this.published.get(toHex(key))?.record;
    if (local && !isMutable(local)) return local;
    const result = await this.components.lookups.findValue(key);
    let best: DhtRecord | null = local ?? null;
    for (const { value } of result.values) {
      if (!best || (value.seq ?? 0) > (best.seq ?? 0)) best = value;
    }
    return best;
  }

  /** Stores someone else's record (checked first) on the nodes closest to its key, once. */
  async republish(key: Uint8Array, record: DhtRecord): Promise<PutResult> {
    const invalid = checkRecord(key, record);
    if (invalid) throw new DhtError('INVALID_RECORD', `refusing to republish an invalid record (${invalid})`);
    return this.storeRecord(key, record, this.init.valueTtlMs);
  }

  /** Stops republishing a value this node put; it then expires on other nodes after its TTL. */
  unpublish(key: Uint8Array): boolean {
    return this.published.delete(toHex(key));
  }

  /** Takes over what `previous` republishes (the node re-derived its ID: its parts were rebuilt). */
  takeOver(previous: DhtValues): void {
    for (const [hex, p] of previous.published) this.published.set(hex, p);
  }

  /** Republishes the values this node put whose interval has come, one at a time, until `stopped()`. */
  async republishDue(now: number, stopped: () => boolean): Promise<void> {
    for (const p of this.published.values()) {
      if (stopped()) return;
      if (p.nextAt > now) continue;
      p.nextAt = now + this.init.republishIntervalMs;
      await this.storeRecord(p.key, p.record, this.init.valueTtlMs).catch((err) => this.failed('republish', err));
    }
  }

  /**
   * Hands on values held for others that nobody stored here for a replicate interval, with
   * what remains of their lifetime (so values still die when their publisher stops).
   */
  async replicateDue(now: number, stopped: () => boolean): Promise<void> {
    const { store } = this.components;
    const { maintenanceIntervalMs, replicateIntervalMs } = this.init;
    // Enough per pass that every value is handed on about once per replicate interval.
    const perPass = Math.max(MIN_REPLICATIONS_PER_PASS, Math.ceil((2 * store.size * maintenanceIntervalMs) / replicateIntervalMs));
    let replicated = 0;
    for (const entry of store.all()) {
      if (stopped() || replicated >= perPass) break;
      if (entry.lastStoredAt + replicateIntervalMs > now || entry.expiresAt <= now) continue;
      entry.lastStoredAt = now;
      replicated++;
      await this.storeRecord(entry.key, entry.record, entry.expiresAt - now, false).catch((err) => this.failed('replication', err));
    }
  }

  private publish(key: Uint8Array, record: DhtRecord): void {
    this.published.set(toHex(key), { key, record, nextAt: this.components.clock.now() + this.init.republishIntervalMs });
  }

  private failed(what: string, err: unknown): void {
    this.components.counters.maintenanceErrors++;
    debug('%s failed: %s', what, err instanceof Error ? err.message : err);
  }

  /**
   * Sends `record` to the k nodes closest to `key`, asking them to keep it for `ttlMs`, and
   * keeps a copy here when this node is among the closest (and `keepLocal` is set).
   */
  private async storeRecord(key: Uint8Array, record: DhtRecord, ttlMs: number, keepLocal = true): Promise<PutResult> {
    const { lookups, liveness, store } = this.components;
    const { self, k } = this.init;
    const { contacts, tokens } = await lookups.findNode(key);
    const ttl = Math.max(1, Math.min(MAX_TTL_SECONDS, Math.floor(ttlMs / 1000)));
    const replies = await Promise.allSettled(contacts.map((c) => liveness.request(c, Store, { key, token: tokens.get(toHex(c.id))!, ttl, record }, Stored)));
    // A refused or unanswered STORE is the count `stored` reports, not an error.
    let stored = replies.filter((r) => r.status === 'fulfilled').length;
    const farthest = contacts[contacts.length - 1];
    const amongClosest = contacts.length < k || (farthest !== undefined && compareDistance(key, self, farthest.id) < 0);
    if (keepLocal && amongClosest && store.put(key, record, ttl * 1000, formatAddress(this.init.address)) === 'stored') stored++;
    return { key, stored, contacts };
  }
}

function assertValueSize(value: Uint8Array): void {
  if (value.length > MAX_VALUE_BYTES) throw new DhtError('VALUE_TOO_LARGE', `DHT values are limited to ${MAX_VALUE_BYTES} bytes (got ${value.length})`);
}
