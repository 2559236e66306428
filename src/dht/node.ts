/**
 * A Kademlia DHT node: the public face of the DHT. It builds the parts and wires them to an
 * RPC endpoint over UDP (or any Transport): the routing table and contact liveness
 * (liveness.ts), the request handlers (handlers/), lookups (lookup-runner.ts over the pure
 * lookup.ts), joining (join.ts), values (values.ts) and maintenance (maintenance.ts).
 * Options and their defaults: options.ts and constants.ts.
 *
 * The node's ID is SHA-1 of the address others reach it at. A node bound to a wildcard does
 * not know that address: it runs read-only (BEP 43) until enough peers agree on what they
 * observed (self-address.ts), or until it is given a mapped address; then its ID-dependent parts
 * are built again around the new ID (node-parts.ts) and it joins again under that ID.
 */
import { type Clock, systemClock } from '../util/clock.js';
import { type Transport } from '../transport/transport.js';
import { UdpTransport } from '../transport/udp.js';
import { RpcEndpoint, type RpcStats } from '../rpc/rpc.js';
import type { SigningKeyPair } from '../crypto/ed25519.js';
import type { Address } from '../net/address.js';
import { type Contact, nodeIdFromAddress } from '../net/node-id.js';
import type { AddressVerdict } from '../nat/address-sampler.js';
import { ADDRESS_SAMPLE_TTL_MS, DEFAULTS } from './constants.js';
import { registerHandlers } from './handlers/index.js';
import type { LookupReport } from './lookup-runner.js';
import { buildParts, handOver, type NodeParts, type SharedParts } from './node-parts.js';
import { isProven } from './handlers/closest.js';
import { type DhtNodeOptions, type DhtSettings, resolveSettings } from './options.js';
import type { DhtRecord } from './records.js';
import { type AddressSource, SelfAddress } from './self-address.js';
import { WriteTokens } from './tokens.js';
import { ValueStore } from './value-store.js';
import type { PutResult } from './values.js';

export type { DhtNodeOptions } from './options.js';
export type { LookupReport } from './lookup-runner.js';
export type { PutResult } from './values.js';
export type { AddressSource } from './self-address.js';
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
  /** Times the node took a new address (and so a new ID). */
  addressChanges: number;
}

/** How the node knows its own address, for status displays. */
export interface SelfAddressInfo {
  address: Address;
  source: AddressSource;
  /** Our requests are marked read-only: others neither add us to tables nor ask us to store. */
  readOnly: boolean;
  /** What peers' observations say (agreed address, mapping kind, distinct prefixes). */
  observed: AddressVerdict;
}

export class DhtNode {
  /** The node's UDP RPC endpoint; other protocols of the peer register their messages on it. */
  readonly rpc: RpcEndpoint;
  readonly clock: Clock;
  private readonly store: ValueStore;
  private readonly shared: SharedParts;
  private readonly self: SelfAddress;
  /** The ID-dependent parts; built again when the node adopts a new address. */
  private parts: NodeParts;
  /** Read-only by the owner's choice (e.g. dial-backs showed nobody can reach us). */
  private keptReadOnly = false;
  private readonly addressListeners: ((info: SelfAddressInfo) => void)[] = [];
  private closed = false;
  /** Which peers that answered may enter the routing table (setContactFilter). */
  private contactFilter: (contact: Contact) => boolean = () => true;
  private readonly counters = { lookups: 0, invalidValues: 0, storesRefused: 0, maintenanceErrors: 0, addressChanges: 0 };

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
    this.self = new SelfAddress({ bound: transport.address, quorum: settings.addressQuorum, sampleTtlMs: ADDRESS_SAMPLE_TTL_MS });
    const self = nodeIdFromAddress(this.self.address);
    this.rpc = new RpcEndpoint(transport, self, {
      clock,
      timeoutMs: settings.requestTimeoutMs,
      retries: settings.retries,
      maxInFlight: settings.maxInFlight,
      maxQueued: settings.maxQueued,
      rateLimit: settings.rateLimit,
    });
    this.rpc.setIdentity(self, this.self.unknown);
    this.store = new ValueStore(clock, { maxEntries: settings.maxValues, maxBytes: settings.maxValueStoreBytes });
    const tokens = new WriteTokens(clock);
    const counters = this.counters;
    this.shared = { rpc: this.rpc, store: this.store, clock, settings, counters };
    this.parts = buildParts(this.shared, self, this.self.address);
    // Both go through `this.parts`, so they follow the parts when the node adopts a new address.
    this.rpc.onContact((contact, kind) => {
      if (this.contactFilter(contact)) this.parts.liveness.sawContact(contact, kind);
    });
    this.rpc.onObserved((observed, reporter) => this.observed(observed, reporter));
    const table = { closest: (target: Uint8Array, n: number) => this.parts.table.closest(target, n), get: (id: Uint8Array) => this.parts.table.get(id) };
    registerHandlers(this.rpc, { table, tokens, values: this.store, refused: () => counters.storesRefused++ }, settings);
    this.parts.maintenance.start();
  }

  /** SHA-1 of `address`. */
  get id(): Uint8Array {
    return this.parts.self;
  }

  /** The address others reach this node at (the bound one, until a wildcard node learns its own). */
  get address(): Address {
    return this.parts.address;
  }

  /** True while our requests are read-only (BEP 43). */
  get readOnly(): boolean {
    return this.rpc.readOnly;
  }

  // --- our own address (self-address.ts) ---

  /** How the node knows its address, and whether it is read-only. */
  selfAddress(): SelfAddressInfo {
    return { address: this.address, source: this.self.source, readOnly: this.readOnly, observed: this.self.verdict(this.clock.now()) };
  }

  /** Called whenever the node has adopted a new address (and so a new ID) and joined again under it. */
  onAddressChange(listener: (info: SelfAddressInfo) => void): void {
    this.addressListeners.push(listener);
  }

  /**
   * Goes by `address` (a port mapping on the router, src/nat/port-mapping.ts): the ID becomes
   * SHA-1 of it and the node joins again. Observations no longer move it.
   */
  useMappedAddress(address: Address): Promise<void> {
    return this.adopt(address, 'mapped');
  }

  /**
   * Keeps the node read-only even once it knows its address (true: dial-backs showed that
   * strangers cannot reach us), or lets it take part fully again (false).
   */
  setReadOnly(readOnly: boolean): void {
    this.keptReadOnly = readOnly;
    this.rpc.setIdentity(this.id, readOnly || this.self.unknown);
  }

  private observed(observed: Address, reporter: Contact): void {
    const next = this.self.observe(observed, reporter, this.clock.now());
    if (next && !this.closed) void this.adopt(next, 'observed');
  }

  /** Rebuilds the ID-dependent parts around `address`'s ID and joins again under it. */
  private async adopt(address: Address, source: 'observed' | 'mapped'): Promise<void> {
    if (this.closed) return;
    this.self.adopt(address, source);
    const id = nodeIdFromAddress(this.self.address);
    const old = this.parts;
    const next = buildParts(this.shared, id, this.self.address);
    handOver(old, next);
    this.parts = next;
    this.rpc.setIdentity(id, this.keptReadOnly);
    next.maintenance.start();
    this.counters.addressChanges++;
    // The nodes near our new ID hear from us (and check us with a PING) as we look it up.
    await next.lookups.findNode(id).catch(() => this.counters.maintenanceErrors++);
    // Listeners hear of the change once we have joined under it (and only of the latest one).
    if (this.parts !== next || this.closed) return;
    const info = this.selfAddress();
    for (const l of this.addressListeners) l(info);
  }

  // --- joining and the routing table ---

  /**
   * Keeps peers for which `admit` is false out of the routing table, however they answer: a peer
   * behind a NAT that answers us over a punched path (src/nat) is reachable by us alone, and must
   * not be handed to others in NODES answers.
   */
  setContactFilter(admit: (contact: Contact) => boolean): void {
    this.contactFilter = admit;
  }

  /**
   * Joins the network: pings the given nodes, looks up our own ID, then refreshes the
   * buckets farther away than our closest neighbour. Throws DhtError('NO_BOOTSTRAP') if none
   * of them answered.
   */
  bootstrap(addresses: Array<string | Address>): Promise<void> {
    return this.parts.joining.bootstrap(addresses);
  }

  /** Asks `address` for a PONG; resolves with its contact, rejects with RpcError if it does not answer. */
  ping(address: Address): Promise<Contact> {
    return this.parts.liveness.ping(address);
  }

  /** Whether `c` is a verified contact at that very address (it answered our requests): reflection.ts. */
  isProven(c: Contact): boolean {
    return isProven(this.parts.table, c);
  }

  /** The contacts in our routing table. */
  contacts(): Contact[] {
    return this.parts.table.all().map(({ id, host, port }) => ({ id, host, port }));
  }

  // --- lookups ---

  /** The k contacts closest to `target` that answered, closest first. */
  async findNode(target: Uint8Array): Promise<Contact[]> {
    return (await this.parts.lookups.findNode(target)).contacts;
  }

  /** An iterative FIND_NODE lookup with its statistics (rounds, messages) and write tokens. */
  lookup(target: Uint8Array): Promise<LookupReport> {
    return this.parts.lookups.findNode(target);
  }

  // --- values (values.ts) ---

  /** Stores an immutable value under SHA-1(value) on the k closest nodes. */
  put(value: Uint8Array): Promise<PutResult> {
    return this.parts.values.put(value);
  }

  /**
   * Stores a mutable record signed by `keyPair` under SHA-1(publicKey + salt). Without
   * `seq`, the current record is looked up first and the next sequence number is used.
   */
  putSigned(keyPair: SigningKeyPair, value: Uint8Array, options: { seq?: number; salt?: Uint8Array } = {}): Promise<PutResult & { seq: number }> {
    return this.parts.values.putSigned(keyPair, value, options);
  }

  /**
   * Finds the value under `key`. Immutable values are checked against their hash and the
   * lookup stops at the first good one; for mutable records every signature is checked and
   * the highest sequence number among the closest nodes wins. Null when nobody has it.
   */
  get(key: Uint8Array): Promise<DhtRecord | null> {
    return this.parts.values.get(key);
  }

  /**
   * Stores someone else's record (checked first) on the nodes closest to its key, once. Used
   * by hosts to keep an absent owner's signed root record alive: they can refresh it, never
   * forge it.
   */
  republish(key: Uint8Array, record: DhtRecord): Promise<PutResult> {
    return this.parts.values.republish(key, record);
  }

  /** Stops republishing a value this node put; it then expires on other nodes after its TTL. */
  unpublish(key: Uint8Array): boolean {
    return this.parts.values.unpublish(key);
  }

  // --- maintenance and the rest ---

  /** Runs one maintenance pass now (also runs on its own every `maintenanceIntervalMs`). */
  maintain(): Promise<void> {
    return this.parts.maintenance.run();
  }

  stats(): DhtStats {
    return {
      ...this.rpc.stats(),
      contacts: this.parts.table.size,
      values: this.store.size,
      valueBytes: this.store.totalBytes,
      ...this.counters,
    };
  }

  /** Stops maintenance, fails outstanding requests and closes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.parts.maintenance.stop();
    await this.rpc.close();
  }
}
