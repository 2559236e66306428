/**
 * A peer's settings: what `Peer.start` accepts, its defaults (each written once, with its unit
 * and the reason for its value), and `resolvePeerOptions`, which checks them and fills in the
 * defaults once so no other part of the peer writes `?? default`.
 */
import type { PeerNatOptions } from '../nat/peer-nat.js';
import { type Clock, systemClock } from '../util/clock.js';
import type { Address } from '../net/address.js';
import type { DhtNodeOptions } from '../dht/node.js';
import type { Transport } from '../transport/transport.js';
import type { TransferServerOptions } from '../transfer/server.js';
import type { BackupEngineOptions } from '../backup/constants.js';
import type { DiskOptions } from '../storage/constants.js';
import { PROPOSAL_MAX_AGE_SECONDS } from '../contracts/contract.js';

export interface ContractOptions {
  /** Credit one network prefix gets before it must keep data for us (default 256 MiB). */
  allowance: number;
  /** How long a counterpart's strikes may stand before it is a defaulter (default 24 h). */
  graceMs: number;
  /** How long an accepted proposal's space is held for the upload (default 10 min). */
  uploadTimeoutMs: number;
  /** Proposals older than this are refused (default 20 min: 10 min of clock skew plus transit). */
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
  /** The disk reserve a host keeps free whatever `storage` says (src/storage/constants.ts). */
  disk?: Partial<DiskOptions>;
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

export const DEFAULT_CONTRACT_OPTIONS: ContractOptions = {
  // bytes: enough for a newcomer's first backup before it has kept anything for others, small
  // enough that a prefix of freeloaders costs a host little.
  allowance: 256 * 2 ** 20,
  // ms: one reboot or a night offline must not cost a host its contracts (LESSONS: audits too strict).
  graceMs: 24 * 3600_000,
  // ms: a 16 MiB shard over a slow home uplink arrives well within it; space is not held for long.
  uploadTimeoutMs: 10 * 60_000,
  // s: how old a proposal may arrive: clocks may differ by 10 min, plus 10 min of transit and
  // retransmits (contracts/contract.ts); replays within it are refused by the host's memory.
  proposalMaxAgeSeconds: PROPOSAL_MAX_AGE_SECONDS,
  // s: a month; backups renew well before it ends (backup/constants.ts renewBeforeFraction).
  contractSeconds: 30 * 86_400,
  // s: hourly audits notice a lost host within a fraction of the grace period.
  auditIntervalSeconds: 3600,
  // leaves per audit: a host missing a tenth of a shard fails one in 1 - 0.9^8 ≈ 57% of audits.
  auditSamples: 8,
  // proposals: one spare per wave hides one refusal or one silent host without a second wave.
  spare: 1,
  // ms: long enough for a nearby debtor's HELLO to arrive, short against the HELLO timeout.
  helloGraceMs: 200,
};

/** The peer's own defaults; the DHT, transfer and backup parts keep theirs in their folders. */
export const DEFAULTS = {
  /** Loopback: a peer is reachable from other machines only when told an address (`--host`). */
  host: '127.0.0.1',
  /** Port 0: the system picks a free one; UDP and TCP then share it. */
  port: 0,
  contracts: DEFAULT_CONTRACT_OPTIONS,
  /** uploads: four shards at once fill a home uplink without one slow host stalling the rest. */
  uploadConcurrency: 4,
  /** rounds: a shard whose upload failed is offered to other hosts up to 3 more times (each round excludes the hosts that failed). */
  placementRounds: 4,
  /** ms: bookkeeping once a minute; audits and expiries are due in hours, not seconds. */
  maintenanceIntervalMs: 60_000,
  /** ms: hosts republish their owners' root records hourly, well inside the DHT's record lifetime. */
  rootRepublishIntervalMs: 3600_000,
  /** attempts: with port 0, TCP may find the UDP port taken; ten tries make that vanishingly rare. */
  bindAttempts: 10,
  /** bytes: a shard file is hashed in pieces of this size (one read buffer, flat memory). */
  digestReadBytes: 1024 * 1024,
} as const;

/** PeerOptions checked, with every default of the peer filled in. */
export interface ResolvedPeerOptions {
  dataDir: string;
  storage: number;
  host: string;
  port: number;
  bootstrap: Array<string | Address>;
  recoveryKey: string | undefined;
  clock: Clock;
  dht: NonNullable<PeerOptions['dht']>;
  contracts: ContractOptions;
  transfer: Partial<TransferServerOptions>;
  backup: Partial<BackupEngineOptions>;
  disk: Partial<DiskOptions>;
  uploadConcurrency: number;
  maintenanceIntervalMs: number;
  rootRepublishIntervalMs: number;
  bindAttempts: number;
  wrapTransport: ((udp: Transport) => Transport) | undefined;
  nat: PeerNatOptions;
}

export function resolvePeerOptions(options: PeerOptions): ResolvedPeerOptions {
  if (!Number.isSafeInteger(options.storage) || options.storage < 0) throw new Error('storage must be a whole number of bytes, 0 or more');
  return {
    dataDir: options.dataDir,
    storage: options.storage,
    host: options.host ?? DEFAULTS.host,
    port: options.port ?? DEFAULTS.port,
    bootstrap: options.bootstrap ?? [],
    recoveryKey: options.recoveryKey,
    clock: options.clock ?? systemClock,
    dht: options.dht ?? {},
    contracts: { ...DEFAULTS.contracts, ...options.contracts },
    transfer: options.transfer ?? {},
    backup: options.backup ?? {},
    disk: options.disk ?? {},
    uploadConcurrency: options.uploadConcurrency ?? DEFAULTS.uploadConcurrency,
    maintenanceIntervalMs: options.maintenanceIntervalMs ?? DEFAULTS.maintenanceIntervalMs,
    rootRepublishIntervalMs: DEFAULTS.rootRepublishIntervalMs,
    bindAttempts: DEFAULTS.bindAttempts,
    wrapTransport: options.wrapTransport,
    nat: options.nat ?? {},
  };
}
