/**
 * distributed-backup-system: a peer-to-peer backup network.
 *
 * This entry point exports the public API: `Peer` (back up, restore, keep backups alive) and
 * the parts it is built from (the Kademlia DHT, contracts, Merkle proofs), the folder watcher,
 * and the optional tracker. The `dbs` command line is built on the same API.
 */
export { DhtNode, type DhtNodeOptions, type DhtStats, type LookupReport, type PutResult } from './dht/node.js';
export { DhtError, type DhtErrorCode } from './dht/errors.js';
// NAT: how a peer behind a home router works out its address, checks that others can reach it,
// maps its port on the router, and is punched to through its rendezvous (docs/nat-traversal.md).
export { type AddressSource, type SelfAddressInfo } from './dht/node.js';
export { NatService, type NatServiceOptions } from './nat/nat-service.js';
export { PortMapping, type PortMappingOptions } from './nat/port-mapping.js';
export { type ReachStatus, type MappingInfo } from './nat/status.js';
export { AddressSampler, type AddressVerdict } from './nat/address-sampler.js';
/** A punch that failed: `code` NO_RENDEZVOUS, RENDEZVOUS_REFUSED, TIMEOUT or BUSY (the owner moves on to another host). */
export { PunchError, type PunchErrorCode } from './nat/errors.js';
/** How each known peer is reached (`Peer.peers()`, `dbs peers`): direct, punched, or punch via a rendezvous. */
export { type PeerReach, type ReachPath } from './nat/peer-reach.js';
export { type Address, formatAddress, parseAddress } from './net/address.js';
export { type Contact, nodeIdFromAddress } from './net/node-id.js';
export { xorDistance, compareDistance, commonPrefixLength, sortByDistance } from './dht/id.js';
export { toHex, fromHex } from './util/bytes.js';
export { type DhtRecord, immutableKey, mutableKey, MAX_VALUE_BYTES } from './dht/records.js';
export { iterativeLookup, type LookupOptions, type LookupResult } from './dht/lookup.js';
export { RoutingTable } from './dht/routing-table.js';
export { type SigningKeyPair, generateSigningKeyPair, signingKeyPairFromSeed, signEd25519, verifyEd25519 } from './crypto/ed25519.js';
export { RpcEndpoint, RpcError, type RpcStats } from './rpc/rpc.js';
export { type Transport } from './transport/transport.js';
export { UdpTransport } from './transport/udp.js';
export { MemoryNetwork, MemoryTransport } from './transport/memory.js';
export { type Clock, systemClock, ManualClock } from './util/clock.js';
export { type RateLimit } from './util/rate-limiter.js';
export { MalformedMessageError, MAX_DATAGRAM_BYTES, PROTOCOL_VERSION } from './wire/codec.js';

// Peers, identity and storage contracts.
export { Peer, type PeerOptions, type PeerStatus, type PeerEvents, type ContractOptions, DEFAULT_CONTRACT_OPTIONS } from './peer/peer.js';
export { type PeerRecord, findPeerRecord, peerRecordKey } from './peer/peer-record.js';
export { type HelloInfo } from './peer/hello.js';
export { formatRecoveryKey, parseRecoveryKey, deriveKeys, generateRecoverySecret, type PeerKeys } from './identity/recovery-key.js';
export {
  type Contract,
  type ContractTerms,
  type PieceTerms,
  type ContractProblem,
  contractId,
  encodeTerms,
  decodeTerms,
  propose,
  verifyContract,
} from './contracts/contract.js';
export { type ContractInfo, type LedgerInfo } from './contracts/service.js';
export { type NegotiationRequest, type NegotiationResult, type Refusal, NegotiationError } from './contracts/negotiation.js';
export { RejectReason, decideProposal, networkPrefix, type Standing } from './contracts/policy.js';
/** Why a host did not take a shard: the codes callers branch on, and the text people read. */
export { type RefusalCode, type OwnerFinding, refusalText } from './contracts/refusals.js';
/** How far apart peers' clocks may be (s) with proposals, contracts, audits and renewals still working. */
export { CLOCK_TOLERANCE_SECONDS } from './contracts/contract.js';
/** A host's disk bound: what it may promise is the data directory's free space minus this reserve. */
export { DISK_DEFAULTS, type DiskOptions } from './storage/constants.js';
/** A restore whose destination is (or became) too small: `code` 'DISK_FULL', nothing short under a real name. */
export { RestoreDiskFullError } from './backup/restore-space.js';
/** A backup stopped because the owner's data directory filled: `code` 'DISK_FULL', no snapshot recorded, the database whole. */
export { BackupDiskFullError } from './backup/backup-space.js';
/** A data directory Peer.start cannot use (read-only, vanished, not writable, damaged database): `code` 'DATA_DIR_UNUSABLE', `problem` says which. */
export { DataDirError, type DataDirProblem } from './peer/data-dir-errors.js';

// Backups.
export { type BackupProgress, type BackupResult, type RestoreProgress, type RestoreResult, type SnapshotInfo, type BackupEngineOptions, type TreeBuildStats } from './backup/engine.js';
export { SnapshotFormatError, type SnapshotFormatErrorCode } from './snapshot/errors.js';
export { MissingBlobError } from './backup/blob-reader.js';
export { type ChunkSizes, DEFAULT_CHUNK_SIZES, Chunker } from './backup/chunker.js';
export { type PlacedShard } from './peer/peer.js';
export { type AuditOutcome } from './transfer/client.js';
/** Merkle leaves and shard IDs: `shardId(root, size)` is a shard's content address. */
export { LEAF_SIZE, verifyLeaf, shardId, ShardHasher, type ShardDigest } from './storage/merkle.js';
/** The same digest as ShardHasher, with the leaf hashing on a worker thread. */
export { ParallelShardHasher, type ParallelHasherOptions, type SlotSink } from './storage/parallel-hasher.js';

// Erasure coding (src/erasure): a shard as K data + N − K parity pieces, any K restore it.
/** K of N, the layout of a shard's pieces, and parsing "K/N". */
export { type ErasureScheme, type PieceLayout, checkScheme, parseScheme, layoutFor, pieceSizeFor } from './erasure/layout.js';
/** The one error of src/erasure, with a `code` to branch on (TOO_FEW_PIECES, BAD_PARAMETERS, PIECE_MISMATCH, CODEC_FAILED). */
export { ErasureError, type ErasureErrorCode } from './erasure/errors.js';
/** Whole small shards in memory (the same bytes the file functions write). */
export { encodeShard, decodeShard } from './erasure/codec.js';
/** Shard file ⇄ piece files, streamed stripe by stripe, each piece with its Merkle root and ID; decode and repair check pieces by their roots. */
export { encodePieceFiles, decodePieceFiles, rebuildPieceFiles, type PieceFile, type PieceSource, type RejectedPiece } from './erasure/piece-files.js';
/** The same file jobs on a worker thread. */
export { ErasureWorker } from './erasure/erasure-worker.js';
/** Restore and repair plans: the fetch race (K + extra, cancel the slow), the repair threshold and plan, host picking. */
export {
  PieceFetchRace,
  type PieceHolder,
  type FetchActions,
  type FetchStatus,
  repairThreshold,
  planRepair,
  type RepairInput,
  type RepairPlan,
  pickHosts,
  type HostCandidate,
} from './erasure/plan.js';
/** Erasure defaults (2/4, one extra fetch) and the codec's limits. */
export { DEFAULTS as ERASURE_DEFAULTS, MAX_DATA_PIECES, MAX_PARITY_PIECES, STRIPE_FRAGMENT_BYTES } from './erasure/constants.js';
// Retention (docs/retention.md), excludes and restore filters.
export { type BackupOptions, type RestoreOptions } from './backup/engine.js';
export { type ExcludeOptions, ExcludeError, CACHEDIR_TAG, CACHEDIR_SIGNATURE } from './backup/exclude.js';
export { type RetentionPolicy, type PolicySnapshot, applyPolicy, describePolicy } from './retention/policy.js';
export { planForget, type ForgetPlan } from './retention/forget-plan.js';
export { type KeepDuration, type Calendar, utcCalendar, localCalendar, parseKeepDuration } from './retention/calendar.js';
export { type KeepFlags, policyFromFlags } from './retention/flags.js';
export { RetentionError, type RetentionErrorCode } from './retention/errors.js';
export { type ForgetRequest, type ForgetResult } from './peer/retention.js';
/** Prune planning from the index alone (the pure part of src/backup/prune.ts). */
export { planPrune, type PrunePlan, type PruneIndex, type IndexedShard, PruneError } from './retention/prune-plan.js';
export { ChunkIdSet } from './retention/chunk-set.js';
// Prune, executed (src/backup/prune.ts), and looking inside snapshots (peer.ls / diff / find / stats).
export { type PruneOptions, type PruneResult, type PruneStep, type LsOptions, type SnapshotChange, type FoundEntry, type SnapshotStats } from './backup/engine.js';
export { RetentionPacer, AUTO_RETENTION } from './retention/pacer.js';

// Folder watching and the optional tracker.
export { FolderWatcher, type FolderWatcherOptions, QuietTrigger, WatchedChanges } from './backup/watcher.js';
export { TrackerServer, type TrackerServerOptions } from './tracker/server.js';
export { TrackerClient } from './tracker/client.js';

// The web page (what `dbs start --ui` serves), for embedders.
/**
 * The control routes a running peer answers (`'GET /status'`, `'POST /backup'`, ...), built
 * from a Peer: `controlRoutes(peer, { dataDir })`. The `dbs` daemon serves them on its control
 * socket and the web page calls the same handlers.
 */
export { controlRoutes, type ControlContext, type ControlPeer } from './cli/control-routes.js';
/**
 * The web page's server: `await UiServer.listen({ dataDir, routes: controlRoutes(peer, { dataDir }) })`,
 * then open `ui.url` (it carries the access token once; the page keeps it in an HttpOnly cookie).
 * Loopback only unless `allowRemote`; see docs/ui.md for its security model and API.
 */
export { UiServer, type UiServerOptions } from './ui/server.js';
export { UiError, type UiErrorCode } from './ui/errors.js';
export { UI_DEFAULTS } from './ui/constants.js';
/** Recent peer events for the page's live feed (pass one to both controlRoutes and UiServer). */
export { EventFeed, type PeerEventEntry } from './control/event-feed.js';
/** A snapshot's folder, a page at a time (`peer.snapshotEntries`), and each shard's replicas (`peer.shardHealth`). */
export { type SnapshotEntryInfo, type SnapshotEntryPage, SnapshotBrowseError } from './backup/snapshot-browse.js';
export { type ShardHealth, type ReplicaHealth, type AuditRecord } from './backup/shard-health.js';
