/**
 * A peer of the backup network: its identity (from the recovery key), its DHT node, its
 * contracts and ledger in SQLite, and its signed peer record. Later issues add shard
 * storage, transfer and backups on top of this.
 */
import { EventEmitter } from 'node:events';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import PQueue from 'p-queue';
import { type Clock, every, systemClock } from '../util/clock.js';
import { lockDataDir } from '../util/dir-lock.js';
import { type Address, formatAddress, parseAddress } from '../net/address.js';
import { toHex } from '../util/bytes.js';
import { DhtNode, type DhtNodeOptions, type DhtStats } from '../dht/node.js';
import type { Transport } from '../transport/transport.js';
import { UdpTransport } from '../transport/udp.js';
import { openDatabase, type Db } from '../storage/database.js';
import { deriveKeys, formatRecoveryKey, type PeerKeys } from '../identity/recovery-key.js';
import { loadOrCreateIdentity } from '../identity/identity-store.js';
import { type ContractInfo, ContractService, type LedgerInfo } from '../contracts/service.js';
import type { NegotiationRequest, NegotiationResult, Refusal } from '../contracts/negotiation.js';
import type { StoredContract } from '../contracts/store.js';
import { type ShardDigest } from '../storage/merkle.js';
import { ParallelShardHasher } from '../storage/parallel-hasher.js';
import { ShardStore } from '../storage/shard-store.js';
import { TransferClient, type AuditOutcome } from '../transfer/client.js';
import { TransferServer, type TransferCounters, type TransferServerOptions } from '../transfer/server.js';
import { mutableKey } from '../dht/records.js';
import { BackupEngine, type BackupEngineOptions, type BackupProgress, type BackupResult, type RestoreProgress, type RestoreResult, type SnapshotInfo } from '../backup/engine.js';
import { deriveBackupKeys } from '../backup/crypto.js';
import { ROOT_RECORD_SALT } from '../backup/formats.js';
import type { ShardTarget } from '../transfer/client.js';
import { backupPorts } from './backup-ports.js';
import type { HelloInfo } from './hello.js';
import { findPeerRecord, type PeerRecord, publishPeerRecord } from './peer-record.js';
import type { NatService } from '../nat/nat-service.js';
import { peerNatService, type PeerNatOptions } from '../nat/peer-nat.js';
import type { ReachStatus } from '../nat/status.js';

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
  /** How long negotiation waits for more HELLO answers once it has enough for the replicas (default 200 ms). */
  helloGraceMs: number;
}

export interface PeerOptions {
  /** Where the identity and the database live (created if missing). */
  dataDir: string;
  /** Bytes this peer offers to keep for others. A peer offering 0 cannot back up. */
  storage: number;
  /** The address peers reach us at (default 127.0.0.1); 0.0.0.0 or :: binds every interface and works it out (src/nat). */
  host?: string;
  port?: number;
  bootstrap?: Array<string | Address>;
  /** Reachability checks and port mapping (src/nat/peer-nat.ts). */
  nat?: PeerNatOptions;
  /** Start with this identity (text form); the data directory must be new or hold the same key. */
  recoveryKey?: string;
  clock?: Clock;
  /** Extra DHT settings (timeouts, limits for single-host networks, ...). */
  dht?: Omit<DhtNodeOptions, 'host' | 'port' | 'bootstrap' | 'clock' | 'transport'>;
  contracts?: Partial<ContractOptions>;
  /** Limits of the TCP shard server (header size, idle time, connections, minimum rate). */
  transfer?: Partial<TransferServerOptions>;
  /** Backup settings: shard size, chunk sizes, how long a host may be unreachable. */
  backup?: Partial<BackupEngineOptions>;
  /** Shard uploads this peer runs at once (default 4). */
  uploadConcurrency?: number;
  /** How often the peer's bookkeeping runs (default 60 s). */
  maintenanceIntervalMs?: number;
  /**
   * Wraps the bound UDP socket before the DHT and the contract protocol use it: metering, or a
   * lossy network in fault tests (test/helpers/faulty-transport.ts). The wrapper must forward
   * `close`. TCP is not affected.
   */
  wrapTransport?: (udp: Transport) => Transport;
}

/** A shard placed on hosts by `placeShard`. */
export interface PlacedShard {
  hash: Uint8Array;
  size: number;
  merkleRoot: Uint8Array;
  /** Contracts whose upload completed (state active). */
  contracts: StoredContract[];
  /** Hosts that refused, and uploads that failed (their contracts were cancelled). */
  refusals: Refusal[];
  failedUploads: { host: Uint8Array; reason: string }[];
}

export interface PeerStatus {
  publicKey: string;
  nodeId: string;
  address: string;
  storage: { offered: number; promised: number; free: number };
  contracts: { owner: number; host: number };
  dht: DhtStats;
  transfer: TransferCounters;
  /** How others reach this peer: public, mapped (by which protocol) or client-only (src/nat/status.ts). */
  reach: ReachStatus;
}

/** What a running peer reports as it works (the CLI logs these). */
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

export const DEFAULT_CONTRACT_OPTIONS: ContractOptions = {
  allowance: 256 * 2 ** 20,
  graceMs: 24 * 3600_000,
  uploadTimeoutMs: 10 * 60_000,
  proposalMaxAgeSeconds: 600,
  contractSeconds: 30 * 86_400,
  auditIntervalSeconds: 3600,
  auditSamples: 8,
  spare: 1,
  helloGraceMs: 200,
};

export class Peer extends EventEmitter<PeerEvents> {
  readonly dht: DhtNode;
  /** Dial-backs, reachability and port mapping (src/nat). */
  readonly nat: NatService;
  readonly contractService: ContractService;
  readonly shards: ShardStore;
  private transferServer!: TransferServer;
  private readonly transferClient: TransferClient;
  private readonly uploads: PQueue;
  /** True when this start created a new identity: show `recoveryKey` to the user once. */
  readonly identityCreated: boolean;
  /** Where this peer keeps its identity and database. */
  readonly dataDir: string;
  private readonly keys: PeerKeys;
  private readonly db: Db;
  readonly clock: Clock;
  private readonly backups: BackupEngine;
  private lastRootRepublish = 0;
  private stopMaintenance: () => void = () => {};
  private lastPublished = '';
  private stopped = false;
  /** Releases the data directory's lock (set once the peer owns it). */
  private unlock: () => Promise<void> = async () => {};

  private constructor(args: { dht: DhtNode; db: Db; keys: PeerKeys; created: boolean; clock: Clock; options: PeerOptions; shards: ShardStore }) {
    super();
    this.dht = args.dht;
    this.nat = peerNatService(args.dht, { ...args.options, clock: args.clock });
    this.dht.onAddressChange(() => void this.publishRecord().catch(() => {}));
    this.shards = args.shards;
    this.transferClient = new TransferClient(args.keys.signing);
    this.uploads = new PQueue({ concurrency: args.options.uploadConcurrency ?? 4 });
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
    const ports = backupPorts({
      dht: this.dht,
      contractService: this.contractService,
      signing: args.keys.signing,
      clock: this.clock,
      placeShard: (file, options) => this.placeShard(file, options),
      fetchShardToFile: (address, target, file, options) => this.fetchShardToFile(address, target, file, options),
      audit: (contract) => this.audit(contract),
      findPeer: (publicKey) => this.findPeer(publicKey),
    });
    // The engine's own defaults apply (src/backup/constants.ts); a host is given as long as a
    // counterpart's strikes may stand.
    this.backups = new BackupEngine(ports, args.db, args.options.dataDir, deriveBackupKeys(args.keys.masterKey), {
      hostGraceMs: args.options.contracts?.graceMs ?? DEFAULT_CONTRACT_OPTIONS.graceMs,
      ...args.options.backup,
    });
    // A contract that ended, lapsed or was cancelled no longer needs its shard here.
    this.contractService.on('ended', (c) => {
      void this.dropShardIfUnused(c.contract.terms.shardHash);
      this.emitEnded(c);
    });
    this.contractService.on('cancelled', (c) => {
      if (c.role === 'host') void this.dropShardIfUnused(c.contract.terms.shardHash);
      this.emitEnded(c);
    });
    this.contractService.on('defaulter', (key) => this.emit('defaulter', { counterpart: toHex(key) }));
  }

  /**
   * Loads or creates the identity, opens the database and the shard store, binds UDP and TCP
   * on the same port number, joins the DHT and publishes the peer record.
   */
  static async start(options: PeerOptions): Promise<Peer> {
    if (!Number.isSafeInteger(options.storage) || options.storage < 0) throw new Error('storage must be a whole number of bytes, 0 or more');
    const clock = options.clock ?? systemClock;
    await fs.mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    const unlock = await lockDataDir(options.dataDir);
    let db: Db;
    let keys: PeerKeys;
    let created: boolean;
    try {
      const identity = await loadOrCreateIdentity(options.dataDir, options.recoveryKey);
      keys = deriveKeys(identity.secret);
      created = identity.created;
      db = openDatabase(path.join(options.dataDir, 'peer.db'));
    } catch (err) {
      await unlock();
      throw err;
    }
    let peer: Peer | undefined;
    try {
      const shards = await ShardStore.open(path.join(options.dataDir, 'shards'));
      peer = await Peer.bindSockets(options, { db, keys, created, clock, shards });
      peer.unlock = unlock;
      await peer.removeOrphanShards();
      await peer.backups.init();
      peer.nat.start(peer.address.port);
      // Handlers are registered before joining, so peers that answer our join can HELLO us at once.
      if (options.bootstrap && options.bootstrap.length > 0) await peer.dht.bootstrap(options.bootstrap);
      peer.nat.checkSoon();
      await peer.publishRecord();
      const p = peer;
      peer.stopMaintenance = every(clock, options.maintenanceIntervalMs ?? 60_000, () => void p.maintain().catch(() => {}));
      return peer;
    } catch (err) {
      if (peer) await peer.stop();
      else {
        db.close();
        await unlock();
      }
      throw err;
    }
  }

  /** Binds UDP, then TCP on the same port; with port 0, retries if TCP finds that port taken. */
  private static async bindSockets(options: PeerOptions, parts: { db: Db; keys: PeerKeys; created: boolean; clock: Clock; shards: ShardStore }): Promise<Peer> {
    for (let attempt = 0; ; attempt++) {
      const udp = await UdpTransport.bind(options.host ?? '127.0.0.1', options.port ?? 0);
      const transport = options.wrapTransport ? options.wrapTransport(udp) : udp;
      const dht = await DhtNode.create({ ...options.dht, transport, clock: parts.clock });
      const peer = new Peer({ ...parts, dht, options });
      try {
        peer.transferServer = await TransferServer.listen(dht.address.host, dht.address.port, parts.shards, peer.shardLedger(), options.transfer);
        return peer;
      } catch (err) {
        await dht.close();
        const taken = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
        if (!taken || options.port || attempt >= 10) {
          throw taken ? new Error(`TCP port ${dht.address.port} is already in use on ${dht.address.host}`) : err;
        }
      }
    }
  }

  /** What the TCP server may ask about contracts, and how it reports a stored shard. */
  private shardLedger() {
    return {
      get: (id: Uint8Array) => this.contractService.store.get(id),
      stored: (c: StoredContract) => {
        const ok = this.contractService.store.transition(c.contract.id, ['pending'], 'active', this.clock.now());
        if (ok) this.emit('stored', { contract: toHex(c.contract.id), owner: toHex(c.counterpart), size: c.contract.terms.shardSize });
        return ok;
      },
    };
  }

  private emitEnded(c: StoredContract): void {
    this.emit('ended', { contract: toHex(c.contract.id), role: c.role, counterpart: toHex(c.counterpart), state: c.state });
  }

  private async dropShardIfUnused(hash: Uint8Array): Promise<void> {
    if (this.contractService.store.liveHostContractsFor(hash).length === 0) await this.shards.delete(hash).catch(() => {});
  }

  /** Shards on disk that no live contract needs (e.g. cancelled while we were down). */
  private async removeOrphanShards(): Promise<void> {
    for (const hash of await this.shards.list()) await this.dropShardIfUnused(hash);
  }

  /** The recovery key in its copyable text form. */
  get recoveryKey(): string {
    return formatRecoveryKey(this.keys.secret);
  }

  /** The signing key of this peer's identity (used by the backup engine for its root record). */
  get signing() {
    return this.keys.signing;
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

  /**
   * Puts the shard in `file` on `replicas` hosts: hashes it (Merkle leaves, one streaming
   * pass, unless the caller hashed it while writing it and passes `digest`), gets contracts signed, and uploads to all of them in parallel (at most
   * `uploadConcurrency` uploads at once across the peer). An upload that fails cancels its
   * contract; the result says which hosts hold the shard.
   */
  async placeShard(file: string, options: { replicas: number; exclude?: Uint8Array[]; digest?: ShardDigest }): Promise<PlacedShard> {
    const { hash, root, size } = options.digest ?? (await digestFile(file));
    const negotiation = await this.negotiate({ shardHash: hash, shardSize: size, merkleRoot: root, replicas: options.replicas, ...(options.exclude ? { exclude: options.exclude } : {}) });
    const failedUploads: PlacedShard['failedUploads'] = [];
    const uploaded = await Promise.all(
      negotiation.contracts.map((c) =>
        this.uploads.add(async () => {
          try {
            await this.upload(c, file);
            return this.contractService.store.get(c.contract.id)!;
          } catch (err) {
            failedUploads.push({ host: c.counterpart, reason: err instanceof Error ? err.message : String(err) });
            await this.contractService.owner.cancel(c);
            return null;
          }
        }),
      ),
    );
    return { hash, size, merkleRoot: root, contracts: uploaded.filter((c): c is StoredContract => c !== null), refusals: negotiation.refusals, failedUploads };
  }

  /** Uploads the shard of one of our pending contracts to its host, from a file or a stream. */
  async upload(contract: StoredContract, source: string | (() => Readable)): Promise<void> {
    await this.transferClient.put(this.counterpartAddress(contract), contract.contract, typeof source === 'string' ? source : source());
    if (!this.contractService.store.transition(contract.contract.id, ['pending'], 'active', this.clock.now())) {
      throw new Error('the contract lapsed or was cancelled while uploading');
    }
  }

  /** Downloads the shard of one of our contracts; the stream errors at its end if it does not verify. */
  fetchShard(contract: StoredContract): Promise<Readable> {
    return this.transferClient.get(this.counterpartAddress(contract), contract.contract);
  }

  /**
   * Downloads a shard from the host at `address` into a new file, verified; the file is removed
   * if it does not verify. `direct` false writes it through the page cache (to be read at once).
   */
  fetchShardToFile(address: Address, target: ShardTarget, file: string, options: { direct?: boolean } = {}): Promise<void> {
    return this.transferClient.getFile(address, target, file, options);
  }

  /**
   * Backs up a file or a directory tree as a new snapshot: content-defined chunks, deduplicated
   * and encrypted, packed into shards kept on `replicas` hosts (default 3). A second backup
   * uploads only what changed. `shortfall` > 0 means fewer hosts than asked were found; the
   * peer keeps trying in the background.
   */
  backup(source: string, options: { replicas?: number; onProgress?: (p: BackupProgress) => void } = {}): Promise<BackupResult> {
    return this.backups.backup(source, options);
  }

  /** Runs the backup keep-alive now: due audits, cancellations, re-replication. */
  async backupsMaintain(): ReturnType<BackupEngine['maintain']> {
    return this.reportMaintenance(await this.backups.maintain());
  }

  /**
   * Audits every host of our backups now, whether due or not, then cancels and re-replicates
   * what failed (what `dbs check` runs).
   */
  async check(): ReturnType<BackupEngine['maintain']> {
    return this.reportMaintenance(await this.backups.maintain(this.clock.now(), { auditAll: true }));
  }

  private reportMaintenance<T extends { audited: number; failed: number; cancelled: number; replaced: number }>(report: T): T {
    if (report.audited + report.cancelled + report.replaced > 0) this.emit('maintenance', { ...report });
    return report;
  }

  /** The DHT contacts this peer knows (its routing table), closest to its own ID first. */
  peers(): Array<{ nodeId: string; address: string }> {
    return this.dht.contacts().map((c) => ({ nodeId: toHex(c.id), address: formatAddress(c) }));
  }

  /** Snapshots, newest first (recovered from the network on a new machine). */
  snapshots(): Promise<SnapshotInfo[]> {
    return this.backups.snapshots();
  }

  /** Restores a snapshot, or one path inside it, into `dest` (which must be empty or missing). */
  restore(snapshotId: string, dest: string, options: { path?: string; onProgress?: (p: RestoreProgress) => void } = {}): Promise<RestoreResult> {
    return this.backups.restore(snapshotId, dest, options);
  }

  /** Audits the host of one of our contracts with fresh random leaves. Throws if the host is unreachable. */
  audit(contract: StoredContract, samples = contract.contract.terms.auditSamples): Promise<AuditOutcome> {
    return this.transferClient.audit(this.counterpartAddress(contract), contract.contract, Math.max(1, samples));
  }

  private counterpartAddress(contract: StoredContract): Address {
    if (!contract.counterpartAddress) throw new Error('no known address for this contract\'s host');
    return parseAddress(contract.counterpartAddress);
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
      transfer: this.transferServer.counters,
      reach: this.nat.status(),
    };
  }

  /** Runs the periodic bookkeeping now (it also runs every `maintenanceIntervalMs`). */
  async maintain(): Promise<void> {
    if (this.stopped) return;
    await this.contractService.maintain();
    // Events delete shards as contracts end; this sweep makes sure, and waits for it.
    await this.removeOrphanShards();
    await this.backupsMaintain();
    await this.publishRecord();
    await this.republishOwnersRoots();
  }

  /**
   * Hosts keep their owners' signed root records alive (hourly), so an owner who lost its
   * machine can still find its backups long after its own republishing stopped.
   */
  private async republishOwnersRoots(): Promise<void> {
    const now = this.clock.now();
    if (now - this.lastRootRepublish < 3600_000) return;
    this.lastRootRepublish = now;
    const owners = new Map<string, Uint8Array>();
    for (const c of this.contractService.store.list({ role: 'host', live: true })) owners.set(toHex(c.counterpart), c.counterpart);
    for (const owner of owners.values()) {
      const key = mutableKey(owner, ROOT_RECORD_SALT);
      const record = await this.dht.get(key).catch(() => null);
      if (record) await this.dht.republish(key, record).catch(() => {});
    }
  }

  /** Publishes the peer record when what it says has changed. */
  private async publishRecord(): Promise<void> {
    const offered = this.contractService.host.offered;
    const free = this.contractService.host.freeBytes();
    const summary = `${formatAddress(this.address)}|${offered}|${free}`;
    // A peer bound to a wildcard has no address to publish until it has adopted one.
    if (summary === this.lastPublished || this.dht.selfAddress().source === 'unknown') return;
    this.lastPublished = summary;
    await publishPeerRecord(this.dht, this.keys.signing, { ...this.address, offered, free, publishedAt: this.clock.now() });
  }

  /** True once `stop()` was called. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Stops timers, closes the socket and the database. State on disk stays consistent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopMaintenance();
    this.uploads.clear();
    await this.nat.stop();
    await this.transferServer?.close();
    await this.dht.close();
    this.db.close();
    await this.unlock();
  }
}

/** The digest of a shard file, read in 1 MiB pieces and hashed on the worker thread. */
async function digestFile(file: string): Promise<ShardDigest> {
  const hasher = new ParallelShardHasher();
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) await hasher.write(chunk as Buffer);
  return hasher.digest();
}
