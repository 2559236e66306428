/** What a running peer reports about itself: `dbs status` and `dbs peers` show these. */
import { formatAddress } from '../net/address.js';
import { toHex } from '../util/bytes.js';
import type { DhtNode, DhtStats } from '../dht/node.js';
import type { ContractHost } from '../contracts/host.js';
import type { ContractStore } from '../contracts/store.js';
import type { TransferCounters, TransferServer } from '../transfer/server.js';
import type { TrafficTotals } from '../transfer/socket-meter.js';
import type { ReachStatus } from '../nat/status.js';
import { backoffStatus, type BackoffStatus } from './backoff-status.js';
import type { BackoffEntry } from './host-backoff.js';
import type { NatService } from '../nat/nat-service.js';

export interface PeerStatus {
  publicKey: string;
  nodeId: string;
  address: string;
  /**
   * Bytes: `--storage`; promised to guests (live contracts, or what the disk cannot take); free; used: shards received and kept (active contracts).
   * `disk`: 'full' or 'read-only' during such an episode of the shard directory's disk (storage/disk-space.ts).
   */
  storage: { offered: number; promised: number; free: number; used: number; disk: 'ok' | 'full' | 'read-only' };
  contracts: { owner: number; host: number };
  dht: DhtStats;
  transfer: TransferCounters;
  /** Shard bytes our own TCP client sent to hosts and received from them (uploads, restores, audits). */
  traffic: TrafficTotals;
  /** How others reach this peer: public, mapped (by which protocol) or client-only (src/nat/status.ts). */
  reach: ReachStatus;
  /** Hosts that failed us as owner and are not asked for a while (placement backoff). */
  backoff: BackoffStatus[];
  /** Punches made and answered, and what this peer served as a rendezvous, refusals counted (src/nat). */
  punching: NatService['punching'];
}

export interface StatusSources {
  publicKey: Uint8Array;
  dht: Pick<DhtNode, 'id' | 'address' | 'stats'>;
  host: Pick<ContractHost, 'offered' | 'freeBytes'>;
  store: Pick<ContractStore, 'liveTotals'>;
  tcp: Pick<TransferServer, 'counters'>;
  client: { traffic(): TrafficTotals };
  nat: Pick<NatService, 'status' | 'punching'>;
  disk: { readonly isFull: boolean; readonly isReadOnly: boolean };
  backoff: { list(): BackoffEntry[] };
  now: number;
}

export function peerStatus(s: StatusSources): PeerStatus {
  const offered = s.host.offered;
  const free = s.host.freeBytes();
  const live = s.store.liveTotals();
  return {
    publicKey: toHex(s.publicKey),
    nodeId: toHex(s.dht.id),
    address: formatAddress(s.dht.address),
    storage: { offered, promised: offered - free, free, used: live.hostActiveBytes, disk: s.disk.isReadOnly ? 'read-only' : s.disk.isFull ? 'full' : 'ok' },
    contracts: { owner: live.owner, host: live.host },
    dht: s.dht.stats(),
    transfer: s.tcp.counters,
    traffic: s.client.traffic(),
    reach: s.nat.status(),
    backoff: backoffStatus(s.backoff.list(), s.now),
    punching: s.nat.punching,
  };
}
