/**
 * What a peer owes the owners whose shards it keeps, besides answering transfers: it reports a
 * shard that arrived whole (the contract becomes active), deletes shards no live contract needs
 * (when a contract ends, and as a sweep at start and in each maintenance pass), and keeps its
 * owners' signed root records alive in the DHT, so an owner who lost its machine can still find
 * its backups long after its own republishing stopped.
 */
import type { Clock } from '../util/clock.js';
import { toHex } from '../util/bytes.js';
import type { DhtNode } from '../dht/node.js';
import { mutableKey } from '../dht/records.js';
import type { ContractStore, StoredContract } from '../contracts/store.js';
import type { ShardStore } from '../storage/shard-store.js';
import type { ContractLedger } from '../transfer/server.js';
import { ROOT_RECORD_SALT } from '../backup/formats.js';
import type { Failures } from './failures.js';

export interface HostDutiesComponents {
  store: Pick<ContractStore, 'get' | 'transition' | 'liveHostContractsFor' | 'list'>;
  shards: Pick<ShardStore, 'delete' | 'list'>;
  dht: Pick<DhtNode, 'get' | 'republish'>;
  clock: Clock;
  failures: Failures;
  /** An owner's shard arrived whole and verified; its contract is now active. */
  onStored(contract: StoredContract): void;
  /** Gives back a reservation whose upload cannot be kept (the disk is full). */
  release?(contract: StoredContract): void;
}

export class HostDuties {
  private lastRootRepublish = 0;

  constructor(
    private readonly components: HostDutiesComponents,
    private readonly init: { rootRepublishIntervalMs: number },
  ) {}

  /** What the TCP server may ask about contracts, and how it reports a stored shard. */
  ledger(): ContractLedger {
    const { store, clock, onStored } = this.components;
    return {
      get: (id) => store.get(id),
      stored: (c) => {
        const ok = store.transition(c.contract.id, ['pending'], 'active', clock.now());
        if (ok) onStored(c);
        return ok;
      },
      abandoned: (c) => this.components.release?.(c),
    };
  }

  /** Deletes the shard `hash` unless a live host contract still needs it. */
  async dropShardIfUnused(hash: Uint8Array): Promise<void> {
    const { store, shards, failures } = this.components;
    if (store.liveHostContractsFor(hash).length > 0) return;
    await shards.delete(hash).catch((err: unknown) => failures.note('shard-delete', err));
  }

  /** Shards on disk that no live contract needs (e.g. cancelled while we were down). */
  async removeOrphanShards(): Promise<void> {
    for (const hash of await this.components.shards.list()) await this.dropShardIfUnused(hash);
  }

  /** Republishes the root record of every owner we keep shards for, once per interval. */
  async republishOwnersRoots(): Promise<void> {
    const { store, dht, clock, failures } = this.components;
    const now = clock.now();
    if (now - this.lastRootRepublish < this.init.rootRepublishIntervalMs) return;
    this.lastRootRepublish = now;
    const owners = new Map<string, Uint8Array>();
    for (const c of store.list({ role: 'host', live: true })) owners.set(toHex(c.counterpart), c.counterpart);
    for (const owner of owners.values()) {
      const key = mutableKey(owner, ROOT_RECORD_SALT);
      try {
        const record = await dht.get(key);
        if (record) await dht.republish(key, record);
      } catch (err) {
        // One owner's record not found or not stored now; the next interval tries again.
        failures.note('root-republish', err);
      }
    }
  }
}
