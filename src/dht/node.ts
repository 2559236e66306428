/**
 * A Kademlia DHT node: the routing table, the value store and the lookups, wired to an
 * RPC endpoint over UDP (or any Transport). This is the public face of the DHT.
 */
import { type Clock, every, systemClock } from '../util/clock.js';
import type { RateLimit } from '../util/rate-limiter.js';
import { sourceKey } from '../util/ip.js';
import { type Transport } from '../transport/transport.js';
import { UdpTransport } from '../transport/udp.js';
import { ErrorReply, RpcEndpoint, RpcError, type RpcStats } from '../rpc/rpc.js';
import type { MessageSpec } from '../wire/codec.js';
import { type SigningKeyPair, signEd25519 } from '../crypto/ed25519.js';
import { type Address, formatAddress, parseAddress } from '../net/address.js';
import { type Contact, contactFromAddress, nodeIdFromAddress } from '../net/node-id.js';
import { commonPrefixLength, compareDistance, randomIdInBucket } from './id.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import { iterativeLookup, type LookupResult } from './lookup.js';
import { ErrorCode, FindNode, FindValue, MAX_NODES_PER_REPLY, MAX_TTL_SECONDS, Nodes, Ping, Pong, Store, Stored, Value } from './messages.js';
import { checkRecord, type DhtRecord, immutableKey, isMutable, MAX_VALUE_BYTES, mutableKey, signedPayload } from './records.js';
import { RoutingTable, type TableContact } from './routing-table.js';
import { WriteTokens } from './tokens.js';
import { ValueStore } from './value-store.js';

export interface DhtNodeOptions {
  /** The IP address peers reach this node at (default 127.0.0.1). The node ID is SHA-1 of host:port. */
  host?: string;
  /** UDP port; 0 picks a free one (default 0). */
  port?: number;
  /** `host:port` strings or addresses of nodes already in the network. */
  bootstrap?: Array<string | Address>;
  /** Use this transport instead of binding a UDP socket (simulations, tests). */
  transport?: Transport;
  clock?: Clock;
  /** Bucket size and replication factor (default 20). */
  k?: number;
  /** Parallel queries per lookup (default 3). */
  alpha?: number;
  /** Per-attempt timeout of ordinary requests (default 2000 ms). */
  requestTimeoutMs?: number;
  /** Retransmits of ordinary requests (default 1). */
  retries?: number;
  /**
   * Timeout of each lookup query (default 1000 ms). Lookups do not retransmit; a query
   * unanswered after a quarter of this stops holding one of the α slots.
   */
  lookupTimeoutMs?: number;
  /** Outstanding requests at most (default 128). */
  maxInFlight?: number;
  /** Incoming requests allowed per source IP (default 100/s, bursts of 200); null disables. */
  rateLimit?: RateLimit | null;
  /** Contacts from one IP allowed in one bucket (default 2; raise it for single-host test networks). */
  maxPerIpPerBucket?: number;
  /** Failed requests in a row after which a contact leaves the table (default 2). */
  maxFailures?: number;
  /** A contact heard from within this window is not pinged to make room for a newcomer (default 15 min). */
  freshContactMs?: number;
  /** A bucket with no lookup through it for this long is refreshed (default 15 min). */
  refreshIntervalMs?: number;
  /** How often maintenance runs: expiry, refresh, republish (default 60 s). */
  maintenanceIntervalMs?: number;
  /** Lifetime of stored values, and the longest a STORE may ask for (default 2 h). */
  valueTtlMs?: number;
  /** How often this node republishes values it put (default 1 h). */
  republishIntervalMs?: number;
  /** How often a node re-replicates values it holds for others to the current closest nodes (default 1 h). */
  replicateIntervalMs?: number;
  /** Values kept for others at most (default 10,000 and 16 MiB). */
  maxValues?: number;
  maxValueStoreBytes?: number;
  /** After joining, also refresh the buckets farther than our closest neighbour (default true). */
  refreshOnJoin?: boolean;
}

/** Counters of a node; see `RpcStats` for the wire-level ones. */
export interface DhtStats extends RpcStats {
  contacts: number;
  values: number;
  valueBytes: number;
  lookups: number;
  invalidValues: number;
  storesRefused: number;
}

export interface LookupReport extends Omit<LookupResult<never>, 'values'> {
  /** Write tokens the answering contacts gave us, by hex ID (for STORE). */
  tokens: Map<string, Uint8Array>;
}

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

const MAX_PENDING_VERIFICATIONS = 64;
const REPLICATIONS_PER_TICK = 32;
/** Retransmits of the PINGs to bootstrap nodes, at least. */
const BOOTSTRAP_RETRIES = 3;

export class DhtNode {
  /** SHA-1 of `address`. */
  readonly id: Uint8Array;
  readonly address: Address;
  /** The node's UDP RPC endpoint; other protocols of the peer register their messages on it. */
  readonly rpc: RpcEndpoint;
  readonly clock: Clock;
  private readonly table: RoutingTable;
  private readonly values: ValueStore;
  private readonly tokens: WriteTokens;
  private readonly published = new Map<string, Published>();
  private readonly verifying = new Set<string>();
  private readonly opts: Required<Omit<DhtNodeOptions, 'host' | 'port' | 'bootstrap' | 'transport' | 'clock' | 'rateLimit'>>;
  private bootstrapAddresses: Address[] = [];
  private stopMaintenance: () => void = () => {};
  private maintaining = false;
  private closed = false;
  private readonly counters = { lookups: 0, invalidValues: 0, storesRefused: 0 };

  /** Binds the socket, joins through `bootstrap` (if any) and starts maintenance. */
  static async create(options: DhtNodeOptions = {}): Promise<DhtNode> {
    const transport = options.transport ?? (await UdpTransport.bind(options.host ?? '127.0.0.1', options.port ?? 0));
    const node = new DhtNode(transport, options);
    if (options.bootstrap && options.bootstrap.length > 0) {
      try {
        await node.bootstrap(options.bootstrap);
      } catch (err) {
        await node.close();
        throw err;
      }
    }
    return node;
  }

  private constructor(transport: Transport, options: DhtNodeOptions) {
    this.clock = options.clock ?? systemClock;
    this.opts = {
      k: options.k ?? 20,
      alpha: options.alpha ?? 3,
      requestTimeoutMs: options.requestTimeoutMs ?? 2000,
      retries: options.retries ?? 1,
      lookupTimeoutMs: options.lookupTimeoutMs ?? 1000,
      maxInFlight: options.maxInFlight ?? 128,
      maxPerIpPerBucket: options.maxPerIpPerBucket ?? 2,
      maxFailures: options.maxFailures ?? 2,
      freshContactMs: options.freshContactMs ?? 15 * 60_000,
      refreshIntervalMs: options.refreshIntervalMs ?? 15 * 60_000,
      maintenanceIntervalMs: options.maintenanceIntervalMs ?? 60_000,
      valueTtlMs: options.valueTtlMs ?? 2 * 3600_000,
      republishIntervalMs: options.republishIntervalMs ?? 3600_000,
      replicateIntervalMs: options.replicateIntervalMs ?? 3600_000,
      maxValues: options.maxValues ?? 10_000,
      maxValueStoreBytes: options.maxValueStoreBytes ?? 16 * 2 ** 20,
      refreshOnJoin: options.refreshOnJoin ?? true,
    };
    if (this.opts.valueTtlMs > MAX_TTL_SECONDS * 1000) throw new Error(`valueTtlMs may be at most ${MAX_TTL_SECONDS * 1000}`);
    if (!Number.isInteger(this.opts.k) || this.opts.k < 1 || this.opts.k > MAX_NODES_PER_REPLY) throw new Error(`k must be between 1 and ${MAX_NODES_PER_REPLY}`);
    if (!Number.isInteger(this.opts.alpha) || this.opts.alpha < 1) throw new Error('alpha must be a whole number of at least 1');
    this.address = transport.address;
    this.id = nodeIdFromAddress(this.address);
    this.rpc = new RpcEndpoint(transport, this.id, {
      clock: this.clock,
      timeoutMs: this.opts.requestTimeoutMs,
      retries: this.opts.retries,
      maxInFlight: this.opts.maxInFlight,
      maxQueued: 4096,
      rateLimit: options.rateLimit === undefined ? { perSecond: 100, burst: 200 } : options.rateLimit,
    });
    this.table = new RoutingTable(this.id, {
      k: this.opts.k,
      maxPerIpPerBucket: this.opts.maxPerIpPerBucket,
      maxFailures: this.opts.maxFailures,
      freshForMs: this.opts.freshContactMs,
      onBucketFull: (oldest, candidate) => this.challengeOldest(oldest, candidate),
    });
    this.values = new ValueStore(this.clock, { maxEntries: this.opts.maxValues, maxBytes: this.opts.maxValueStoreBytes });
    this.tokens = new WriteTokens(this.clock);
    this.rpc.onContact((contact, kind) => this.sawContact(contact, kind));
    this.registerHandlers();
    this.stopMaintenance = every(this.clock, this.opts.maintenanceIntervalMs, () => void this.maintain().catch(() => {}));
  }

  // --- joining and the routing table -------------------------------------------------

  /**
   * Joins the network: pings the given nodes, looks up our own ID, then refreshes the
   * buckets farther away than our closest neighbour. Throws if none of them answered.
   */
  async bootstrap(addresses: Array<string | Address>): Promise<void> {
    const targets = addresses.map((a) => (typeof a === 'string' ? parseAddress(a) : a)).filter((a) => !bytesEqual(nodeIdFromAddress(a), this.id));
    this.bootstrapAddresses = targets;
    if (targets.length === 0) return;
    // Joining happens once and everything after it depends on it: on a lossy link, the usual
    // single retransmit loses the join about once in 30 at 10% loss each way (fault tests,
    // test/faults/net-join.test.ts). A few more attempts cost nothing when the node answers.
    const retries = Math.max(this.opts.retries, BOOTSTRAP_RETRIES);
    const answers = await Promise.allSettled(targets.map((a) => this.request(a, Ping, {}, Pong, { retries })));
    if (!answers.some((a) => a.status === 'fulfilled')) {
      throw new Error(`no bootstrap node answered (tried ${targets.map(formatAddress).join(', ')})`);
    }
    await this.lookup(this.id);
    if (!this.opts.refreshOnJoin) return;
    const nearest = this.table.closest(this.id, 1)[0];
    const depth = nearest ? commonPrefixLength(this.id, nearest.id) : 0;
    for (let i = 0; i < depth; i++) await this.lookup(randomIdInBucket(this.id, i));
  }

  /** Asks `address` for a PONG; resolves with its contact, rejects with RpcError if it does not answer. */
  async ping(address: Address): Promise<Contact> {
    const res = await this.request(address, Ping, {}, Pong);
    return res.from;
  }

  /** The contacts in our routing table. */
  contacts(): Contact[] {
    return this.table.all().map(({ id, host, port }) => ({ id, host, port }));
  }

  /**
   * Only an answer to one of our requests proves a contact is alive at its address: a
   * request's source may be forged. So answers add or refresh contacts; a request from a
   * stranger earns it a verification PING (when its bucket has room), and a request from a
   * known contact changes nothing, so forged packets cannot keep a dead contact looking fresh.
   */
  private sawContact(contact: Contact, kind: 'request' | 'response'): void {
    if (kind === 'response') {
      this.table.add(contact, this.clock.now());
      return;
    }
    const hex = toHex(contact.id);
    if (this.verifying.has(hex) || this.verifying.size >= MAX_PENDING_VERIFICATIONS || !this.table.wouldAccept(contact)) return;
    this.verifying.add(hex);
    // Short and without retransmits, so forged sources cannot hold verification slots long.
    this.request(contact, Ping, {}, Pong, this.lookupRequestOptions())
      .catch(() => {})
      .finally(() => this.verifying.delete(hex));
  }

  private challengeOldest(oldest: TableContact, candidate: Contact): void {
    const hex = toHex(oldest.id);
    if (this.verifying.has(hex)) return;
    this.verifying.add(hex);
    this.ping(oldest)
      .catch(() => {
        this.table.remove(oldest.id);
        this.table.add(candidate, this.clock.now());
      })
      .finally(() => this.verifying.delete(hex));
  }

  /** Every request goes through here so that silent contacts are counted and dropped. */
  private async request<Req, Res>(
    to: Address,
    spec: MessageSpec<Req>,
    body: Req,
    expect: MessageSpec<Res>,
    opts?: { timeoutMs?: number; retries?: number },
  ): Promise<{ body: Res; from: Contact }> {
    try {
      return await this.rpc.request(to, spec, body, expect, opts);
    } catch (err) {
      if (err instanceof RpcError && err.code === 'TIMEOUT') this.table.recordFailure(nodeIdFromAddress(to));
      throw err;
    }
  }

  // --- answering requests --------------------------------------------------------------

  private registerHandlers(): void {
    this.rpc.handle(Ping, () => ({ spec: Pong, body: {} }));
    this.rpc.handle(FindNode, (body, from) => ({
      spec: Nodes,
      body: { nodes: this.closestExcept(body.target, from), token: this.tokens.issue(from) },
    }));
    this.rpc.handle(FindValue, (body, from) => {
      const record = this.values.get(body.key);
      return {
        spec: Value,
        body: { nodes: record ? [] : this.closestExcept(body.key, from), token: this.tokens.issue(from), record },
      };
    });
    this.rpc.handle(Store, (body, from) => {
      const refuse = (code: keyof typeof ErrorCode) => {
        this.counters.storesRefused++;
        return { spec: ErrorReply, body: { code: ErrorCode[code], message: code } };
      };
      if (!this.tokens.check(from, body.token)) return refuse('BAD_TOKEN');
      const invalid = checkRecord(body.key, body.record);
      if (invalid) return refuse(invalid);
      const ttlMs = Math.min(body.ttl * 1000, this.opts.valueTtlMs);
      const outcome = this.values.put(body.key, body.record, ttlMs, sourceKey(from.host));
      return outcome === 'stored' ? { spec: Stored, body: {} } : refuse(outcome);
    });
  }

  private closestExcept(target: Uint8Array, except: Contact): Contact[] {
    return this.table
      .closest(target, this.opts.k + 1)
      .filter((c) => !bytesEqual(c.id, except.id))
      .slice(0, this.opts.k);
  }

  // --- lookups ------------------------------------------------------------------------

  /** The k contacts closest to `target` that answered, closest first. */
  async findNode(target: Uint8Array): Promise<Contact[]> {
    return (await this.lookup(target)).contacts;
  }

  /** An iterative FIND_NODE lookup with its statistics (rounds, messages) and write tokens. */
  async lookup(target: Uint8Array): Promise<LookupReport> {
    const tokens = new Map<string, Uint8Array>();
    const result = await this.iterate<never>(target, async (contact) => {
      const res = await this.request(contact, FindNode, { target }, Nodes, this.lookupRequestOptions());
      tokens.set(toHex(contact.id), res.body.token);
      return { contacts: res.body.nodes.map(contactFromAddress) };
    });
    const { values: _values, ...rest } = result;
    return { ...rest, tokens };
  }

  private lookupRequestOptions() {
    return { timeoutMs: this.opts.lookupTimeoutMs, retries: 0 };
  }

  /**
   * The contacts a lookup starts from: the closest in the table or, when the table is empty,
   * the bootstrap nodes again. On a lossy link a node that knows few peers can see each of
   * them time out twice in a row and drop them all; without this every lookup would find
   * nothing until maintenance re-bootstraps it, up to a minute later (found by the fault
   * tests at 10% loss; test/faults/net-join.test.ts).
   */
  private lookupSeeds(target: Uint8Array): Contact[] {
    const closest = this.table.closest(target, this.opts.k);
    if (closest.length > 0) return closest;
    return this.bootstrapAddresses.map(contactFromAddress);
  }

  private async iterate<V>(
    target: Uint8Array,
    query: (c: Contact) => Promise<{ contacts: Contact[]; value?: V }>,
    stopWhen?: (v: V) => boolean,
  ): Promise<LookupResult<V>> {
    this.counters.lookups++;
    this.table.touch(target, this.clock.now());
    const run = () =>
      iterativeLookup<V>({
        target,
        self: this.id,
        seeds: this.lookupSeeds(target),
        k: this.opts.k,
        alpha: this.opts.alpha,
        slowAfterMs: Math.max(1, Math.floor(this.opts.lookupTimeoutMs / 4)),
        setTimer: (fn, ms) => {
          const handle = this.clock.setTimeout(fn, ms);
          handle.unref?.();
          return { cancel: () => this.clock.clearTimeout(handle) };
        },
        query,
        ...(stopWhen ? { stopWhen } : {}),
      });
    const result = await run();
    // Lookup queries are not retransmitted, so a node that knows one or two peers loses a
    // whole lookup (a join, a STORE) to a single lost datagram. When nobody answered at all,
    // try once more: cheap, and only ever on a node that is nearly cut off.
    if (result.contacts.length === 0 && result.failures > 0 && !this.closed) {
      const again = await run();
      return { ...again, messages: result.messages + again.messages, failures: result.failures + again.failures };
    }
    return result;
  }

  // --- values -------------------------------------------------------------------------

  /** Stores an immutable value under SHA-1(value) on the k closest nodes. */
  async put(value: Uint8Array): Promise<PutResult> {
    const record: DhtRecord = { value: Uint8Array.from(value) };
    const key = immutableKey(record.value);
    this.assertValueSize(record.value);
    this.published.set(toHex(key), { key, record, nextAt: this.clock.now() + this.opts.republishIntervalMs });
    return this.storeRecord(key, record, this.opts.valueTtlMs);
  }

  /**
   * Stores a mutable record signed by `keyPair` under SHA-1(publicKey + salt). Without
   * `seq`, the current record is looked up first and the next sequence number is used.
   */
  async putSigned(keyPair: SigningKeyPair, value: Uint8Array, options: { seq?: number; salt?: Uint8Array } = {}): Promise<PutResult & { seq: number }> {
    this.assertValueSize(value);
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
    this.published.set(toHex(key), { key, record, nextAt: this.clock.now() + this.opts.republishIntervalMs });
    return { ...(await this.storeRecord(key, record, this.opts.valueTtlMs)), seq };
  }

  /**
   * Finds the value under `key`. Immutable values are checked against their hash and the
   * lookup stops at the first good one; for mutable records every signature is checked and
   * the highest sequence number among the closest nodes wins. Null when nobody has it.
   */
  async get(key: Uint8Array): Promise<DhtRecord | null> {
    const local = this.values.get(key) ?? this.published.get(toHex(key))?.record;
    if (local && !isMutable(local)) return local;
    const result = await this.iterate<DhtRecord>(
      key,
      async (contact) => {
        const res = await this.request(contact, FindValue, { key }, Value, this.lookupRequestOptions());
        const { record } = res.body;
        if (record && checkRecord(key, record) !== null) {
          this.counters.invalidValues++;
          return { contacts: res.body.nodes.map(contactFromAddress) };
        }
        return { contacts: res.body.nodes.map(contactFromAddress), ...(record ? { value: record } : {}) };
      },
      (record) => !isMutable(record),
    );
    let best: DhtRecord | null = local ?? null;
    for (const { value } of result.values) {
      if (!best || (value.seq ?? 0) > (best.seq ?? 0)) best = value;
    }
    return best;
  }

  /**
   * Stores someone else's record (checked first) on the nodes closest to its key, once. Used
   * by hosts to keep an absent owner's signed root record alive: they can refresh it, never
   * forge it.
   */
  async republish(key: Uint8Array, record: DhtRecord): Promise<PutResult> {
    const invalid = checkRecord(key, record);
    if (invalid) throw new Error(`refusing to republish an invalid record (${invalid})`);
    return this.storeRecord(key, record, this.opts.valueTtlMs);
  }

  /** Stops republishing a value this node put; it then expires on other nodes after its TTL. */
  unpublish(key: Uint8Array): boolean {
    return this.published.delete(toHex(key));
  }

  private assertValueSize(value: Uint8Array): void {
    if (value.length > MAX_VALUE_BYTES) throw new Error(`DHT values are limited to ${MAX_VALUE_BYTES} bytes (got ${value.length})`);
  }

  /**
   * Sends `record` to the k nodes closest to `key`, asking them to keep it for `ttlMs`, and
   * keeps a copy here when this node is among the closest (and `keepLocal` is set).
   */
  private async storeRecord(key: Uint8Array, record: DhtRecord, ttlMs: number, keepLocal = true): Promise<PutResult> {
    const { contacts, tokens } = await this.lookup(key);
    const ttl = Math.max(1, Math.min(MAX_TTL_SECONDS, Math.floor(ttlMs / 1000)));
    const replies = await Promise.allSettled(
      contacts.map((c) => this.request(c, Store, { key, token: tokens.get(toHex(c.id))!, ttl, record }, Stored)),
    );
    let stored = replies.filter((r) => r.status === 'fulfilled').length;
    const farthest = contacts[contacts.length - 1];
    const amongClosest = contacts.length < this.opts.k || (farthest !== undefined && compareDistance(key, this.id, farthest.id) < 0);
    if (keepLocal && amongClosest && this.values.put(key, record, ttl * 1000, formatAddress(this.address)) === 'stored') stored++;
    return { key, stored, contacts };
  }

  // --- maintenance --------------------------------------------------------------------

  /** Runs one maintenance pass now (also runs on its own every `maintenanceIntervalMs`). */
  async maintain(): Promise<void> {
    if (this.maintaining || this.closed) return;
    this.maintaining = true;
    try {
      this.values.sweep();
      const now = this.clock.now();
      if (this.table.size === 0 && this.bootstrapAddresses.length > 0) {
        await this.bootstrap(this.bootstrapAddresses).catch(() => {});
      }
      for (const target of this.table.staleBucketTargets(now, this.opts.refreshIntervalMs)) {
        if (this.closed) return;
        await this.lookup(target);
      }
      for (const p of this.published.values()) {
        if (this.closed) return;
        if (p.nextAt > now) continue;
        p.nextAt = now + this.opts.republishIntervalMs;
        await this.storeRecord(p.key, p.record, this.opts.valueTtlMs).catch(() => {});
      }
      // Enough per pass that every value is handed on about once per replicate interval.
      const perPass = Math.max(REPLICATIONS_PER_TICK, Math.ceil((2 * this.values.size * this.opts.maintenanceIntervalMs) / this.opts.replicateIntervalMs));
      let replicated = 0;
      for (const entry of this.values.all()) {
        if (this.closed || replicated >= perPass) break;
        if (entry.lastStoredAt + this.opts.replicateIntervalMs > now || entry.expiresAt <= now) continue;
        entry.lastStoredAt = now;
        replicated++;
        // What remains of its lifetime goes with it, so values still die when their publisher stops.
        await this.storeRecord(entry.key, entry.record, entry.expiresAt - now, false).catch(() => {});
      }
    } finally {
      this.maintaining = false;
    }
  }

  // --- the rest -----------------------------------------------------------------------

  stats(): DhtStats {
    return {
      ...this.rpc.stats(),
      contacts: this.table.size,
      values: this.values.size,
      valueBytes: this.values.totalBytes,
      ...this.counters,
    };
  }

  /** Stops maintenance, fails outstanding requests and closes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopMaintenance();
    await this.rpc.close();
  }
}
