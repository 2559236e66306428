/**
 * A Kademlia DHT node: the public face of the DHT. It builds the parts and wires them to an
 * RPC endpoint over UDP (or any Transport): the routing table and contact liveness
 * (liveness.ts), the request handlers (handlers/), lookups (lookup-runner.ts over the pure
 * lookup.ts), joining (join.ts), values (values.ts) and maintenance (maintenance.ts).
 * Options and their defaults: options.ts and constants.ts.
 */
import { type Clock, systemClock } from '../util/clock.js';
import { type Transport } from '../transport/transport.js';
import { UdpTransport } from '../transport/udp.js';
import { RpcEndpoint, type RpcStats } from '../rpc/rpc.js';
import type { SigningKeyPair } from '../crypto/ed25519.js';
import type { Address } from '../net/address.js';
import { type Contact, nodeIdFromAddress } from '../net/node-id.js';
import { DEFAULTS } from './constants.js';
import { registerHandlers } from './handlers/index.js';
import { isProven } from './handlers/closest.js';
import { Join } from './join.js';
import { ContactLiveness } from './liveness.js';
import { type LookupReport, LookupRunner } from './lookup-runner.js';
import { Maintenance } from './maintenance.js';
import { type DhtNodeOptions, type DhtSettings, resolveSettings } from './options.js';
import type { DhtRecord } from './records.js';
import { RoutingTable } from './routing-table.js';
import { WriteTokens } from './tokens.js';
import { ValueStore } from './value-store.js';
import { DhtValues, type PutResult } from './values.js';

export type { DhtNodeOptions } from './options.js';
export type { LookupReport } from './lookup-runner.js';
export type { PutResult } from './values.js';
export { DhtError, type DhtErrorCode } from './errors.js';

/** Counters of a node; see `RpcStats` for the wire-level ones. */
export interface DhtStats extends RpcStats {
  contacts: number;
  values: number;
  valueBytes: number;
  lookups: number;
  invalidValues: number;
  storesRefused: number;
  /** Maintenance passes, re-joins, republishes and replications that failed (each is retried later). */
  maintenanceErrors: number;
}

export class DhtNode {
  /** SHA-1 of `address`. */
  readonly id: Uint8Array;
  readonly address: Address;
  /** The node's UDP RPC endpoint; other protocols of the peer register their messages on it. */
  readonly rpc: RpcEndpoint;
  readonly clock: Clock;
  private readonly table: RoutingTable;
  private readonly store: ValueStore;
  private readonly liveness: ContactLiveness;
  private readonly lookups: LookupRunner;
  private readonly joining: Join;
  private readonly values: DhtValues;
  private readonly maintenance: Maintenance;
  private closed = false;
  private readonly counters = { lookups: 0, invalidValues: 0, storesRefused: 0, maintenanceErrors: 0 };

  /** Binds the socket, joins through `bootstrap` (if any) and starts maintenance. */
  static async create(options: DhtNodeOptions = {}): Promise<DhtNode> {
    const settings = resolveSettings(options);
    const transport = options.transport ?? (await UdpTransport.bind(options.host ?? DEFAULTS.host, options.port ?? DEFAULTS.port));
    const node = new DhtNode(transport, settings, options.clock ?? systemClock);
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

  private constructor(transport: Transport, settings: DhtSettings, clock: Clock) {
    this.clock = clock;
    this.address = transport.address;
    this.id = nodeIdFromAddress(this.address);
    const self = this.id;
    this.rpc = new RpcEndpoint(transport, self, {
      clock,
      timeoutMs: settings.requestTimeoutMs,
      retries: settings.retries,
      maxInFlight: settings.maxInFlight,
      maxQueued: settings.maxQueued,
      rateLimit: settings.rateLimit,
    });
    this.table = new RoutingTable(self, {
      k: settings.k,
      maxPerIpPerBucket: settings.maxPerIpPerBucket,
      maxFailures: settings.maxFailures,
      freshForMs: settings.freshContactMs,
      onBucketFull: (oldest, candidate) => this.liveness.challengeOldest(oldest, candidate),
    });
    this.store = new ValueStore(clock, { maxEntries: settings.maxValues, maxBytes: settings.maxValueStoreBytes });
    const tokens = new WriteTokens(clock);
    const counters = this.counters;
    const probe = { timeoutMs: settings.lookupTimeoutMs, retries: 0 };
    this.liveness = new ContactLiveness({ rpc: this.rpc, table: this.table, clock }, { probe });
    this.lookups = new LookupRunner(
      { liveness: this.liveness, table: this.table, clock, fallbackSeeds: () => this.joining.addresses, counters },
      { self, k: settings.k, alpha: settings.alpha, lookupTimeoutMs: settings.lookupTimeoutMs },
    );
    this.joining = new Join({ liveness: this.liveness, lookups: this.lookups, table: this.table }, { self, retries: settings.retries, refreshOnJoin: settings.refreshOnJoin });
    this.values = new DhtValues({ lookups: this.lookups, liveness: this.liveness, store: this.store, clock, counters }, { self, address: this.address, ...settings });
    this.maintenance = new Maintenance(
      { clock, table: this.table, store: this.store, join: this.joining, lookups: this.lookups, values: this.values, counters },
      settings,
    );
    this.rpc.onContact((contact, kind) => this.liveness.sawContact(contact, kind));
    registerHandlers(this.rpc, { table: this.table, tokens, values: this.store, refused: () => counters.storesRefused++ }, settings);
    this.maintenance.start();
  }

  // --- joining and the routing table ---

  /**
   * Joins the network: pings the given nodes, looks up our own ID, then refreshes the
   * buckets farther away than our closest neighbour. Throws DhtError('NO_BOOTSTRAP') if none
   * of them answered.
   */
  bootstrap(addresses: Array<string | Address>): Promise<void> {
    return this.joining.bootstrap(addresses);
  }

  /** Asks `address` for a PONG; resolves with its contact, rejects with RpcError if it does not answer. */
  ping(address: Address): Promise<Contact> {
    return this.liveness.ping(address);
  }

  /** Whether `c` is a verified contact at that very address (it answered our requests): reflection.ts. */
  isProven(c: Contact): boolean {
    return isProven(this.table, c);
  }

  /** The contacts in our routing table. */
  contacts(): Contact[] {
    return this.table.all().map(({ id, host, port }) => ({ id, host, port }));
  }

  // --- lookups ---

  /** The k contacts closest to `target` that answered, closest first. */
  async findNode(target: Uint8Array): Promise<Contact[]> {
    return (await this.lookups.findNode(target)).contacts;
  }

  /** An iterative FIND_NODE lookup with its statistics (rounds, messages) and write tokens. */
  lookup(target: Uint8Array): Promise<LookupReport> {
    return this.lookups.findNode(target);
  }

  // --- values (values.ts) ---

  /** Stores an immutable value under SHA-1(value) on the k closest nodes. */
  put(value: Uint8Array): Promise<PutResult> {
    return this.values.put(value);
  }

  /**
   * Stores a mutable record signed by `keyPair` under SHA-1(publicKey + salt). Without
   * `seq`, the current record is looked up first and the next sequence number is used.
   */
  putSigned(keyPair: SigningKeyPair, value: Uint8Array, options: { seq?: number; salt?: Uint8Array } = {}): Promise<PutResult & { seq: number }> {
    return this.values.putSigned(keyPair, value, options);
  }

  /**
   * Finds the value under `key`. Immutable values are checked against their hash and the
   * lookup stops at the first good one; for mutable records every signature is checked and
   * the highest sequence number among the closest nodes wins. Null when nobody has it.
   */
  get(key: Uint8Array): Promise<DhtRecord | null> {
    return this.values.get(key);
  }

  /**
   * Stores someone else's record (checked first) on the nodes closest to its key, once. Used
   * by hosts to keep an absent owner's signed root record alive: they can refresh it, never
   * forge it.
   */
  republish(key: Uint8Array, record: DhtRecord): Promise<PutResult> {
    return this.values.republish(key, record);
  }

  /** Stops republishing a value this node put; it then expires on other nodes after its TTL. */
  unpublish(key: Uint8Array): boolean {
    return this.values.unpublish(key);
  }

  // --- maintenance and the rest ---

  /** Runs one maintenance pass now (also runs on its own every `maintenanceIntervalMs`). */
  maintain(): Promise<void> {
    return this.maintenance.run();
  }

  stats(): DhtStats {
    return {
      ...this.rpc.stats(),
      contacts: this.table.size,
      values: this.store.size,
      valueBytes: this.store.totalBytes,
      ...this.counters,
    };
  }

  /** Stops maintenance, fails outstanding requests and closes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.maintenance.stop();
    await this.rpc.close();
  }
}
