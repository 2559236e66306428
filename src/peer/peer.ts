/**
 * A peer of the backup network, as one object with a lifecycle: `Peer.start` opens its state
 * (startup.ts), binds its sockets (sockets.ts) with its services built on them (wiring.ts),
 * joins the DHT and starts its maintenance (maintenance.ts); `stop` undoes it. The methods
 * are the public API and hand each call to the part that does it: placement.ts (putting a
 * shard on hosts), owner-transfers.ts, discovery.ts (peer records), host-duties.ts, status.ts,
 * the contract service (src/contracts) and the backup engine (src/backup).
 */
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { asBackupError } from '../backup/backup-space.js';
import type { Clock } from '../util/clock.js';
import type { Address } from '../net/address.js';
import type { DhtNode } from '../dht/node.js';
import { formatRecoveryKey } from '../identity/recovery-key.js';
import type { ContractInfo, ContractService, LedgerInfo } from '../contracts/service.js';
import type { NegotiationRequest, NegotiationResult } from '../contracts/negotiation.js';
import type { StoredContract } from '../contracts/store.js';
import type { ShardDigest } from '../storage/merkle.js';
import type { ShardStore } from '../storage/shard-store.js';
import type { AuditOutcome, ShardTarget } from '../transfer/client.js';
import type { TransferServer } from '../transfer/server.js';
import type { BackupEngine, BackupResult, RestoreResult, SnapshotInfo } from '../backup/engine.js';
import type { MaintenanceReport } from '../backup/types.js';
import type { HelloInfo } from './hello.js';
import { type PeerEvents, relayPeerEvents } from './events.js';
import { type PeerOptions, type ResolvedPeerOptions, resolvePeerOptions } from './options.js';
import type { PeerRecord } from './peer-record.js';
import type { PlacedShard } from './placement.js';
import { forget, type ForgetRequest, type ForgetResult } from './retention.js';
import { SqlitePaceStore } from './retention-pace.js';
import type { PruneOptions, PruneResult } from '../backup/prune.js';
import type { FoundEntry, LsOptions, SnapshotChange } from '../backup/snapshot-query.js';
import type { SnapshotStats } from '../backup/snapshot-stats.js';
import type { SnapshotEntryInfo } from '../backup/snapshot-browse.js';
import { bindSockets } from './sockets.js';
import { closeLocalState, type LocalState, openLocalState } from './startup.js';
import { peerStatus, type PeerStatus } from './status.js';
import type { PeerReach } from '../nat/peer-reach.js';
import { type PeerServices, wireServices } from './wiring.js';

export { type ContractOptions, DEFAULT_CONTRACT_OPTIONS, type PeerOptions } from './options.js';
export type { PeerEvents } from './events.js';
export type { PlacedShard } from './placement.js';
export type { PeerStatus } from './status.js';

export class Peer extends EventEmitter<PeerEvents> {
  readonly dht: DhtNode;
  readonly contractService: ContractService;
  readonly shards: ShardStore;
  /** True when this start created a new identity: show `recoveryKey` to the user once. */
  readonly identityCreated: boolean;
  /** Where this peer keeps its identity and database. */
  readonly dataDir: string;
  readonly clock: Clock;
  private stopped = false;

  /** Made only by `start`, from parts that all exist already. */
  private constructor(
    options: ResolvedPeerOptions,
    private readonly state: LocalState,
    dht: DhtNode,
    /** The TCP shard server (named so for the fault tests that reach it: test/helpers/fuzz-target.ts, lies-shards). */
    private readonly transferServer: TransferServer,
    private readonly services: PeerServices,
  ) {
    super();
    this.dht = dht;
    this.contractService = services.contracts;
    this.shards = state.shards;
    this.identityCreated = state.created;
    this.dataDir = options.dataDir;
    this.clock = options.clock;
    relayPeerEvents(services.events, this);
  }

  /**
   * Loads or creates the identity, opens the database and the shard store, binds UDP and TCP
   * on the same port number, joins the DHT and publishes the peer record.
   */
  static async start(options: PeerOptions): Promise<Peer> {
    const resolved = resolvePeerOptions(options);
    const state = await openLocalState(resolved.dataDir, resolved.recoveryKey, { clock: resolved.clock, disk: resolved.disk });
    let peer: Peer | undefined;
    try {
      const { dht, tcp, wired } = await bindSockets(resolved, state.shards, (d) => wireServices(d, state, resolved));
      // TCP streams punched to us through a NAT are served as if accepted on our port (src/nat).
      wired.nat.acceptPunchedStreams((socket) => tcp.accept(socket));
      peer = new Peer(resolved, state, dht, tcp, wired);
      await wired.hostDuties.removeOrphanShards();
      await wired.backups.init();
      wired.nat.start(dht.address.port);
      // Handlers are registered before joining, so peers that answer our join can HELLO us at once.
      if (resolved.bootstrap.length > 0) await dht.bootstrap(resolved.bootstrap);
      wired.nat.checkSoon();
      await wired.discovery.publishRecord();
      wired.maintenance.start(resolved.maintenanceIntervalMs);
      return peer;
    } catch (err) {
      if (peer) await peer.stop();
      else await closeLocalState(state);
      throw err;
    }
  }

  /** The recovery key in its copyable text form. */
  get recoveryKey(): string {
    return formatRecoveryKey(this.state.keys.secret);
  }

  /** Where retention that runs itself keeps its pace across restarts (src/cli/auto-retention.ts). */
  get retentionPace(): SqlitePaceStore {
    return new SqlitePaceStore(this.state.db);
  }

  /** The signing key of this peer's identity (used by the backup engine for its root record). */
  get signing() {
    return this.state.keys.signing;
  }

  /** This peer's durable identity (Ed25519 public key). */
  get publicKey(): Uint8Array {
    return this.state.keys.signing.publicKey;
  }

  get address(): Address {
    return this.dht.address;
  }

  /** Finds hosts for a shard and gets `replicas` contracts signed (see ContractOwner). */
  negotiate(req: NegotiationRequest): Promise<NegotiationResult> {
    return this.services.contracts.negotiate(req);
  }

  contracts(): ContractInfo[] {
    return this.services.contracts.contracts();
  }

  ledger(): LedgerInfo[] {
    return this.services.contracts.ledger();
  }

  /** Asks the peer at `address` for its key and offer (signed over a fresh challenge). */
  hello(address: Address): Promise<HelloInfo> {
    return this.services.introduce(address);
  }

  /**
   * Where the peer with `publicKey` is now, from its signed peer record in the DHT.
   * `verified` is true when the peer answered HELLO at that address with that key.
   */
  findPeer(publicKey: Uint8Array): Promise<(PeerRecord & { verified: boolean }) | null> {
    return this.services.discovery.findPeer(publicKey);
  }

  /**
   * Puts the shard in `file` on `replicas` hosts: hashes it (Merkle leaves, one streaming
   * pass, unless the caller hashed it while writing it and passes `digest`), gets contracts
   * signed, and uploads to all of them in parallel (at most `uploadConcurrency` uploads at once
   * across the peer). An upload that fails cancels its contract; the result says which hosts
   * hold the shard.
   */
  placeShard(file: string, options: { replicas: number; exclude?: Uint8Array[]; digest?: ShardDigest }): Promise<PlacedShard> {
    return this.services.placer.place(file, options);
  }

  /** Uploads the shard of one of our pending contracts to its host, from a file or a stream. */
  upload(contract: StoredContract, source: string | (() => Readable)): Promise<void> {
    return this.services.transfers.upload(contract, source);
  }

  /** Downloads the shard of one of our contracts; the stream errors at its end if it does not verify. */
  fetchShard(contract: StoredContract): Promise<Readable> {
    return this.services.transfers.fetch(contract);
  }

  /**
   * Downloads a shard from the host at `address` into a new file, verified; the file is removed
   * if it does not verify. `direct` false writes it through the page cache (to be read at once).
   */
  fetchShardToFile(address: Address, target: ShardTarget, file: string, options: { direct?: boolean } = {}): Promise<void> {
    return this.services.transfers.fetchToFile(address, target, file, options);
  }

  /** Audits the host of one of our contracts with fresh random leaves. Throws if the host is unreachable. */
  audit(contract: StoredContract, samples = contract.contract.terms.auditSamples): Promise<AuditOutcome> {
    return this.services.transfers.audit(contract, samples);
  }

  /**
   * Backs up a file or a directory tree as a new snapshot: content-defined chunks, deduplicated
   * and encrypted, packed into shards kept on `replicas` hosts (default 3). A later backup of
   * the same path does not read files whose size, mtime, ctime and inode are unchanged (`force`
   * reads all) and uploads only what changed. `shortfall` > 0 means fewer hosts than asked were
   * found; the peer keeps trying in the background.
   */
  backup(source: string, options: Parameters<BackupEngine['backup']>[1] = {}): Promise<BackupResult> {
    // A full disk on our side becomes one typed line (backup-space.ts); other errors unchanged.
    return this.services.backups.backup(source, options).catch((err: unknown) => Promise.reject(asBackupError(err, this.dataDir)));
  }

  /** Snapshots, newest first (recovered from the network on a new machine). */
  snapshots(): Promise<SnapshotInfo[]> {
    return this.services.backups.snapshots();
  }

  /** Applies a retention policy (or removes named snapshots); see src/peer/retention.ts. */
  forget(request: ForgetRequest): Promise<ForgetResult> {
    return forget({ snapshots: () => this.snapshots(), now: () => this.clock.now(), removeSnapshots: (ids) => this.services.backups.removeSnapshots(ids), prune: (o) => this.prune(o) }, request);
  }

  /**
   * Reclaims the space of forgotten snapshots (src/backup/prune.ts): shards nothing kept needs
   * lose their contracts (hosts delete them), mostly-unused and small ones are repacked first.
   */
  prune(options: PruneOptions = {}): Promise<PruneResult> {
    return this.services.backups.prune(options);
  }

  /** Restores a snapshot, or one path inside it, into `dest` (which must be empty or missing). */
  restore(snapshotId: string, dest: string, options: Parameters<BackupEngine['restore']>[2] = {}): Promise<RestoreResult> {
    return this.services.backups.restore(snapshotId, dest, options);
  }

  /**
   * The entries of folder `dir` of a snapshot ('' its root), or everything below it with
   * `recursive`, as an async iterator: trees are read as the walk reaches them.
   */
  ls(snapshotId: string, dir = '', options: LsOptions = {}): AsyncGenerator<SnapshotEntryInfo> {
    return this.services.backups.ls(snapshotId, dir, options);
  }

  /** What changed from snapshot `a` to `b` (added, removed, changed: content or metadata; sizes). */
  diff(a: string, b: string): AsyncGenerator<SnapshotChange> {
    return this.services.backups.diff(a, b);
  }

  /** Entries matching a gitignore-style pattern, in every snapshot or only `snapshotId`. */
  find(pattern: string, snapshotId?: string): AsyncGenerator<FoundEntry> {
    return this.services.backups.find(pattern, snapshotId);
  }

  /** Source bytes, bytes stored after deduplication and compression, bytes hosts hold (all replicas), per snapshot. */
  stats(): SnapshotStats {
    return this.services.backups.stats();
  }

  /** Per snapshot, the stored bytes only it needs: what forgetting it alone would free (reads every snapshot's trees). */
  uniqueBytes(): Promise<Map<string, number>> {
    return this.services.backups.uniqueBytes();
  }

  /** One folder of a snapshot, a page at a time (src/backup/snapshot-browse.ts). */
  snapshotEntries(snapshotId: string, dir: string, page: { offset: number; limit: number }): ReturnType<BackupEngine['entries']> {
    return this.services.backups.entries(snapshotId, dir, page);
  }

  /** Our shards: replicas wanted and live, each host's last audit (src/backup/shard-health.ts). */
  shardHealth(): ReturnType<BackupEngine['shardHealth']> {
    return this.services.backups.shardHealth();
  }

  /** How each host last answered an audit, per contract, cancelled ones too (src/backup/shard-health.ts). */
  auditRecords(): ReturnType<BackupEngine['auditRecords']> {
    return this.services.backups.auditRecords();
  }

  /** Runs the backup keep-alive now: due audits, cancellations, re-replication. */
  backupsMaintain(): Promise<MaintenanceReport> {
    return this.services.maintenance.backups();
  }

  /**
   * Audits every host of our backups now, whether due or not, then cancels and re-replicates
   * what failed (what `dbs check` runs).
   */
  check(): Promise<MaintenanceReport> {
    return this.services.maintenance.check();
  }

  /** Runs the periodic bookkeeping now (it also runs every `maintenanceIntervalMs`). */
  maintain(): Promise<void> {
    return this.services.maintenance.run();
  }

  /** The peers this one knows and how each is reached: its DHT contacts, punched paths, peers behind NATs (src/nat/peer-reach.ts). */
  peers(): PeerReach[] {
    return this.services.nat.peers();
  }

  status(): PeerStatus {
    const { contracts } = this.services;
    return peerStatus({ publicKey: this.publicKey, dht: this.dht, host: contracts.host, store: contracts.store, tcp: this.transferServer, client: this.services.transfers, nat: this.services.nat, disk: this.shards.space, backoff: this.services.placer.backoff, now: this.clock.now() });
  }

  /** True once `stop()` was called. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Stops timers, closes the sockets and the database. State on disk stays consistent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.services.maintenance.stop();
    this.services.placer.clear();
    await this.services.nat.stop();
    await this.transferServer.close();
    await this.dht.close();
    await closeLocalState(this.state);
  }
}
