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

export interface PeerStatus {
  publicKey: string;
  nodeId: string;
  address: string;
  /** `disk`: 'full' or 'read-only' during such an episode of the shard directory's disk (storage/disk-space.ts). */
  storage: { offered: number; promised: number; free: number; disk: 'ok' | 'full' | 'read-only' };
  contracts: { owner: number; host: number };
  dht: DhtStats;
  transfer: TransferCounters;
  /** Shard bytes our own TCP client sent to hosts and received from them (uploads, restores, audits). */
  traffic: TrafficTotals;
  /** How others reach this peer: public, mapped (by which protocol) or client-only (src/nat/status.ts). */
  reach: ReachStatus;
  /** Hosts that failed us as owner and are not asked for a while (placement backoff). */
  backoff: BackoffStatus[];
}

export interface StatusSources {
  publicKey: Uint8Array;
  dht: Pick<DhtNode, 'id' | 'address' | 'stats'>;
  host: Pick<ContractHost, 'offered' | 'freeBytes'>;
  store: Pick<ContractStore, 'list'>;
  tcp: Pick<TransferServer, 'counters'>;
  client: { traffic(): TrafficTotals };
  nat: { status(): ReachStatus };
  disk: { readonly isFull: boolean; readonly isReadOnly: boolean };
  backoff: { list(): BackoffEntry[] };
  now: number;
}

export function peerStatus(s: StatusSources): PeerStatus {
  const offered = s.host.offered;
  const free = s.host.freeBytes();
  const live = s.store.list({ live: true });
  return {
    publicKey: toHex(s.publicKey),
    nodeId: toHex(s.dht.id),
    address: formatAddress(s.dht.address),
    storage: { offered, promised: offered - free, free, disk: s.disk.isReadOnly ? 'read-only' : s.disk.isFull ? 'full' : 'ok' },
    contracts: { owner: live.filter((c) => c.role === 'owner').length, host: live.filter((c) => c.role === 'host').length },
    dht: s.dht.stats(),
    transfer: s.tcp.counters,
    traffic: s.client.traffic(),
    reach: s.nat.status(),
    backoff: backoffStatus(s.backoff.list(), s.now),
  };
}

/** The DHT contacts this peer knows (its routing table), closest to its own ID first. */
export function knownPeers(dht: Pick<DhtNode, 'contacts'>): Array<{ nodeId: string; address: string }> {
  return dht.contacts().map((c) => ({ nodeId: toHex(c.id), address: formatAddress(c) }));
}
