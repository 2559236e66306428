/**
 * Each of our shards as the owner sees it: replicas wanted, the live contracts holding it, and
 * how each host last answered an audit (host_health in the index). Read-only, from the index
 * and the contract store; what `GET /shards` on the control socket and the web page show.
 */
import { toHex } from '../util/bytes.js';
import type { BackupIndex } from './index-db.js';
import type { ReplicaLocator } from './replica-locator.js';

export interface ReplicaHealth {
  contract: string;
  host: string;
  address: string | null;
  state: string;
  /** ms since the epoch of the last audit the host passed, or null (never audited yet). */
  lastAuditAt: number | null;
  /** ms since the epoch since when the host could not be reached, or null. */
  unreachableSince: number | null;
  /** For an erasure-coded shard: the index of the piece this host keeps. */
  piece?: number;
}

export interface ShardHealth {
  hash: string;
  kind: 'data' | 'meta' | 'catalog';
  size: number;
  /** Replicas wanted (pieces, N, for an erasure-coded shard). */
  wanted: number;
  /** Live replicas or pieces (pending or active contracts). */
  live: number;
  /** Set for an erasure-coded shard: any K of its N pieces restore it. */
  erasure?: { k: number; n: number };
  /** Whether we still have our own copy (repairs place from it). */
  localCopy: boolean;
  replicas: ReplicaHealth[];
}

/** One contract's audit record (kept after the contract is cancelled). */
export interface AuditRecord {
  contract: string;
  lastAuditAt: number | null;
  unreachableSince: number | null;
}

/** Every audit record: how each host last answered, for live and cancelled contracts alike. */
export function auditRecords(index: Pick<BackupIndex, 'allHealth'>): AuditRecord[] {
  return index.allHealth().map((h) => ({ contract: toHex(h.contract), lastAuditAt: h.lastAuditAt, unreachableSince: h.unreachableSince }));
}

export function shardHealth(index: Pick<BackupIndex, 'shards' | 'health'>, locator: Pick<ReplicaLocator, 'holders'>): ShardHealth[] {
  return index.shards().map((s) => {
    const holders = locator.holders(s.hash);
    const piece = holders[0]?.contract.terms.piece;
    const replicas = holders.map((c) => {
      const h = index.health(c.contract.id);
      return {
        contract: toHex(c.contract.id),
        host: toHex(c.counterpart),
        address: c.counterpartAddress,
        state: c.state,
        lastAuditAt: h.lastAuditAt,
        unreachableSince: h.unreachableSince,
        ...(c.contract.terms.piece ? { piece: c.contract.terms.piece.index } : {}),
      };
    });
    return { hash: toHex(s.hash), kind: s.kind, size: s.size, wanted: piece ? piece.n : s.replicas, live: replicas.length, localCopy: s.localPath !== null, replicas, ...(piece ? { erasure: { k: piece.k, n: piece.n } } : {}) };
  });
}
