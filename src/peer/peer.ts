/**
 * A peer of the backup network: its identity (from the recovery key), its DHT node, its
 * contracts and ledger in SQLite, and its signed peer record. Later issues add shard
 * storage, transfer and backups on top of this.
 */
import path from 'node:path';
import { type Clock, every, systemClock } from '../util/clock.js';
import { type Address, formatAddress, toHex } from '../dht/id.js';
import { DhtNode, type DhtNodeOptions, type DhtStats } from '../dht/node.js';
import { openDatabase, type Db } from '../storage/database.js';
import { deriveKeys, formatRecoveryKey, type PeerKeys } from '../identity/recovery-key.js';
import { loadOrCreateIdentity } from '../identity/identity-store.js';
import { type ContractInfo, ContractService, type LedgerInfo } from '../contracts/service.js';
import type { NegotiationRequest, NegotiationResult } from '../contracts/negotiation.js';
import type { HelloInfo } from './hello.js';
import { findPeerRecord, type PeerRecord, publishPeerRecord } from './peer-record.js';

export interface ContractOptions {
  /** Credit one network prefix gets before it must keep data for us (default 256 MiB). */
  allowance: number;
  /** How long a counterpart's strikes may stand before it is a defaulter (default 24 h). */
  graceMs: number;
  /** How long an accepted proposal's space is held for the upload (default 10 min). */
  uploadTimeoutMs: number;
  /** Proposals older than this are refused (default 10 min). */
  proposalMaxAgeSeconds: number;
  /** Length of the contracts we propose (default 30 days). */
  contractSeconds: number;
  auditIntervalSeconds: number;
  auditSamples: number;
  /** Extra proposals per wave beyond the number still needed (default 1). */
  spare: number;
}

export interface PeerOptions {
  /** Where the identity and the database live (created if missing). */
  dataDir: string;
  /** Bytes this peer offers to keep for others. A peer offering 0 cannot back up. */
  storage: number;
  host?: string;
  port?: number;
  bootstrap?: Array<string | Address>;
  /** Start with this identity (text form); the data directory must be new or hold the same key. */
  recoveryKey?: string;
  clock?: Clock;
  /** Extra DHT settings (timeouts, limits for single-host networks, ...). */
  dht?: Omit<DhtNodeOptions, 'host' | 'port' | 'bootstrap' | 'clock' | 'transport'>;
  contracts?: Partial<ContractOptions>;
  /** How often the peer's bookkeeping runs (default 60 s). */
  maintenanceIntervalMs?: number;
}

export interface PeerStatus {
  publicKey: string;
  nodeId: string;
  address: string;
  storage: { offered: number; promised: number; free: number };
  contracts: { owner: number; host: number };
  dht: DhtStats;
}

export const DEFAULT_CONTRACT_OPTIONS: ContractOptions = {
  allowance: 256 * 2 ** 20,
  graceMs: 24 * 3600_000,
  uploadTimeoutMs: 10 * 60_000,
  proposalMaxAgeSeconds: 600,
  contractSeconds: 30 * 86_400,
  auditIntervalSeconds: 3600,
  auditSamples: 8,
  spare: 1,
};

export class Peer {
  readonly dht: DhtNode;
  readonly contractService: ContractService;
  /** True when this start created a new identity: show `recoveryKey` to the user once. */
  readonly identityCreated: boolean;
  /** Where this peer keeps its identity and database. */
  readonly dataDir: string;
  private readonly keys: PeerKeys;
  private readonly db: Db;
  private readonly clock: Clock;
  private stopMaintenance: () => void = () => {};
  private lastPublished = '';
  private stopped = false;

  private constructor(args: { dht: DhtNode; db: Db; keys: PeerKeys; created: boolean; clock: Clock; options: PeerOptions }) {
    this.dht = args.dht;
    this.db = args.db;
    this.keys = args.keys;
    this.identityCreated = args.created;
    this.dataDir = args.options.dataDir;
    this.clock = args.clock;
    this.contractService = new ContractService(args.dht, args.db, args.keys.signing, args.clock, {
      ...DEFAULT_CONTRACT_OPTIONS,
      ...args.options.contracts,
      offered: args.options.storage,
    });
  }

  /** Loads or creates the identity, opens the database, joins the DHT and publishes the peer record. */
  static async start(options: PeerOptions): Promise<Peer> {
    if (!Number.isSafeInteger(options.storage) || options.storage < 0) throw new Error('storage must be a whole number of bytes, 0 or more');
    const clock = options.clock ?? systemClock;
    const { secret, created } = await loadOrCreateIdentity(options.dataDir, options.recoveryKey);
    const keys = deriveKeys(secret);
    const db = openDatabase(path.join(options.dataDir, 'peer.db'));
    let dht: DhtNode | undefined;
    try {
      dht = await DhtNode.create({ ...options.dht, host: options.host ?? '127.0.0.1', port: options.port ?? 0, clock });
      const peer = new Peer({ dht, db, keys, created, clock, options });
      // Handlers are registered before joining, so peers that answer our join can HELLO us at once.
      if (options.bootstrap && options.bootstrap.length > 0) await dht.bootstrap(options.bootstrap);
      await peer.publishRecord();
      peer.stopMaintenance = every(clock, options.maintenanceIntervalMs ?? 60_000, () => void peer.maintain().catch(() => {}));
      return peer;
    } catch (err) {
      await dht?.close();
      db.close();
      throw err;
    }
  }

  /** The recovery key in its copyable text form. */
  get recoveryKey(): string {
    return formatRecoveryKey(this.keys.secret);
  }

  /** This peer's durable identity (Ed25519 public key). */
  get publicKey(): Uint8Array {
    return this.keys.signing.publicKey;
  }

  get address(): Address {
    return this.dht.address;
  }

  /** Finds hosts for a shard and gets `replicas` contracts signed (see ContractOwner). */
  negotiate(req: NegotiationRequest): Promise<NegotiationResult> {
    return this.contractService.negotiate(req);
  }

  contracts(): ContractInfo[] {
    return this.contractService.contracts();
  }

  ledger(): LedgerInfo[] {
    return this.contractService.ledger();
  }

  /** Asks the peer at `address` for its key and offer (signed over a fresh challenge). */
  hello(address: Address): Promise<HelloInfo> {
    return this.contractService.owner.hello(address);
  }

  /**
   * Where the peer with `publicKey` is now, from its signed peer record in the DHT.
   * `verified` is true when the peer answered HELLO at that address with that key.
   */
  async findPeer(publicKey: Uint8Array): Promise<(PeerRecord & { verified: boolean }) | null> {
    const record = await findPeerRecord(this.dht, publicKey);
    if (!record) return null;
    const answer = await this.hello(record).catch(() => null);
    return { ...record, verified: answer !== null && Buffer.from(answer.publicKey).equals(publicKey) };
  }

  status(): PeerStatus {
    const offered = this.contractService.host.offered;
    const free = this.contractService.host.freeBytes();
    const live = this.contractService.store.list({ live: true });
    return {
      publicKey: toHex(this.publicKey),
      nodeId: toHex(this.dht.id),
      address: formatAddress(this.address),
      storage: { offered, promised: offered - free, free },
      contracts: { owner: live.filter((c) => c.role === 'owner').length, host: live.filter((c) => c.role === 'host').length },
      dht: this.dht.stats(),
    };
  }

  /** Runs the periodic bookkeeping now (it also runs every `maintenanceIntervalMs`). */
  async maintain(): Promise<void> {
    if (this.stopped) return;
    await this.contractService.maintain();
    await this.publishRecord();
  }

  /** Publishes the peer record when what it says has changed. */
  private async publishRecord(): Promise<void> {
    const offered = this.contractService.host.offered;
    const free = this.contractService.host.freeBytes();
    const summary = `${formatAddress(this.address)}|${offered}|${free}`;
    if (summary === this.lastPublished) return;
    this.lastPublished = summary;
    await publishPeerRecord(this.dht, this.keys.signing, { ...this.address, offered, free, publishedAt: this.clock.now() });
  }

  /** Stops timers, closes the socket and the database. State on disk stays consistent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopMaintenance();
    await this.dht.close();
    this.db.close();
  }
}
