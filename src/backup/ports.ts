/**
 * What the backup engine needs from the peer it runs in, each as the narrowest interface that
 * does the job: no DHT, no ContractService, no sockets. src/peer/backup-ports.ts builds them
 * from a running Peer; tests can hand in fakes (test/backup-ports.test.ts) or the in-memory
 * network.
 */
import type { Address } from '../net/address.js';
import type { Clock } from '../util/clock.js';
import type { Contract, PieceTerms } from '../contracts/contract.js';
import type { Refusal } from '../contracts/negotiation.js';
import type { StoredContract } from '../contracts/store.js';
import type { ShardDigest } from '../storage/merkle.js';
import type { AuditOutcome, ShardTarget } from '../transfer/client.js';
import type { ReceiveOptions } from '../transfer/verified-receive.js';
import type { SlotSink } from '../storage/parallel-hasher.js';

/** A shard put on hosts: the contracts whose upload completed, and who refused. */
export interface PlacedShard {
  hash: Uint8Array;
  size: number;
  merkleRoot: Uint8Array;
  /** Contracts whose upload completed (state active). */
  contracts: StoredContract[];
  /** Hosts that refused, and uploads that failed. */
  refusals: Refusal[];
}

/**
 * Puts a finished shard file on up to `replicas` new hosts: negotiation and uploads behind one
 * call. Hosts in `exclude` are never asked. `digest`, when given, saves hashing the file again.
 */
export interface ShardPlacer {
  place(file: string, options: PlaceOptions): Promise<PlacedShard>;
}

export interface PlaceOptions {
  replicas: number;
  exclude?: Uint8Array[];
  digest?: ShardDigest;
  /** The file is one erasure-coded piece of a shard: the piece terms its contracts carry. */
  piece?: PieceTerms;
  /** Called once the hosts are agreed, before the uploads (lets the caller negotiate the next piece meanwhile). */
  negotiated?: (hosts: Uint8Array[]) => void;
}

/**
 * Downloads a shard from the host at `address` into a new file, verified (size, ID, Merkle
 * root); rejects, and leaves no file, if it does not verify. `direct` false writes through the
 * page cache (for a file read at once).
 */
export interface ShardFetcher {
  fetchToFile(address: Address, target: ShardTarget, file: string, options?: { direct?: boolean }): Promise<void>;
  /** Downloads a shard (a piece) into `sink`, verified as it streams; resolves with its digest (transfer/client.ts `getInto`). */
  fetchInto(address: Address, target: ShardTarget, sink: SlotSink, options?: ReceiveOptions): Promise<ShardDigest>;
}

/**
 * Audits the host of one of our contracts at `address` with fresh random leaves. Resolves with
 * the outcome when the host answered; rejects when it could not be reached there.
 */
export interface Auditor {
  audit(address: Address, contract: StoredContract): Promise<AuditOutcome>;
}

/** Where the peer with this public key says it is now (its signed peer record); null if unknown. */
export interface PeerFinder {
  find(publicKey: Uint8Array): Promise<Address | null>;
}

/**
 * Our own signed root record in the DHT (the way back in with only the recovery key). The
 * adapter knows the key, the salt and how to sign; the engine only picks the sequence number.
 */
export interface RootRecords {
  read(): Promise<{ value: Uint8Array; seq: number | null } | null>;
  publish(value: Uint8Array, seq: number): Promise<void>;
}

/** Our contracts as owner (hosts keeping our shards), and how we treat their hosts. */
export interface OwnerContracts {
  /** Live (pending or active) contracts where we are the owner. */
  live(): StoredContract[];
  /** Records a contract found in a recovered catalog as active, unless it is already known. */
  adopt(contract: Contract, address: string | null, now: number): void;
  /** Cancels it here at once and sends the host a signed notice. */
  cancel(contract: StoredContract): Promise<void>;
  /**
   * Cancels these: notifies their hosts (several per message, `atOnce` messages in flight), calls
   * `sent`, then records them all in one commit.
   */
  cancelMany(contracts: readonly StoredContract[], atOnce: number, sent?: () => void): Promise<void>;
  /**
   * Sends the host at `address` a signed cancel of a contract known only by its ID (a recovered
   * head shard's: unrecorded-contracts.ts). True if the host acknowledged it.
   */
  cancelById(id: Uint8Array, address: Address): Promise<boolean>;
  /** The host passed an audit: its strikes are forgiven. */
  honoured(host: Uint8Array): void;
  /** The host failed an audit: one strike. */
  strike(host: Uint8Array): void;
}

/** Everything the engine takes from its peer. */
export interface BackupPorts {
  readonly placer: ShardPlacer;
  readonly fetcher: ShardFetcher;
  readonly auditor: Auditor;
  readonly peers: PeerFinder;
  readonly roots: RootRecords;
  readonly contracts: OwnerContracts;
  readonly clock: Clock;
}
