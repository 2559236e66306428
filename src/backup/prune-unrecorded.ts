/**
 * Prune's last cancellations: contracts known only by host and ID (unrecorded-contracts.ts, a
 * recovered head shard's). One is cancelled when nothing needs it: its shard left the index,
 * or recorded live contracts keep the shard as many times as it wants (recovery placed it
 * again). Otherwise it stays: it may be the only copy until repair has placed the shard. The
 * host is found through its peer record; a host that cannot be found or does not answer is
 * asked again at the next prune (its row stays), for UNRECORDED_GIVE_UP_MS (by then it lapsed).
 */
import type { Address } from '../net/address.js';
import type { BackupIndex } from './index-db.js';
import type { OwnerContracts, PeerFinder } from './ports.js';
import type { ReplicaLocator } from './replica-locator.js';
import type { UnrecordedContract, UnrecordedContracts } from './unrecorded-contracts.js';
import { CANCEL_AT_ONCE, UNRECORDED_GIVE_UP_MS } from './constants.js';

export interface UnrecordedCancelDeps {
  index: Pick<BackupIndex, 'shard'>;
  unrecorded: Pick<UnrecordedContracts, 'list' | 'remove'>;
  locator: Pick<ReplicaLocator, 'liveContracts'>;
  peers: PeerFinder;
  contracts: Pick<OwnerContracts, 'cancelById'>;
}

/** Which of `all` nothing needs any more (pure). */
export function unneededUnrecorded(all: readonly UnrecordedContract[], deps: Pick<UnrecordedCancelDeps, 'index' | 'locator'>): UnrecordedContract[] {
  return all.filter((c) => {
    const shard = deps.index.shard(c.shard);
    return !shard || deps.locator.liveContracts(c.shard).length >= shard.replicas;
  });
}

/** Cancels the unneeded ones; returns how many hosts acknowledged (those rows go). */
export async function cancelUnrecorded(deps: UnrecordedCancelDeps, now: number): Promise<number> {
  const all = deps.unrecorded.list();
  for (const c of all) if (now - c.addedAt >= UNRECORDED_GIVE_UP_MS) deps.unrecorded.remove(c.id);
  const due = unneededUnrecorded(all.filter((c) => now - c.addedAt < UNRECORDED_GIVE_UP_MS), deps);
  let cancelled = 0;
  for (let i = 0; i < due.length; i += CANCEL_AT_ONCE) {
    await Promise.all(
      due.slice(i, i + CANCEL_AT_ONCE).map(async (c) => {
        const address: Address | null = await deps.peers.find(c.host).catch(() => null);
        if (!address || !(await deps.contracts.cancelById(c.id, address))) return;
        deps.unrecorded.remove(c.id);
        cancelled++;
      }),
    );
  }
  return cancelled;
}
