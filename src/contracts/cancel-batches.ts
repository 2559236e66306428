/**
 * Many cancellations (a prune) as few CONTRACT_CANCELs as possible: grouped by the address of
 * the counterpart, at most `1 + CANCEL_MORE_MAX` per message (messages.ts). Contracts without
 * an address cannot be told and are left out. Pure.
 */
import type { StoredContract } from './store.js';

export function cancelBatches(list: readonly StoredContract[], perMessage: number): StoredContract[][] {
  const byAddress = new Map<string, StoredContract[]>();
  for (const c of list) {
    if (!c.counterpartAddress) continue;
    const group = byAddress.get(c.counterpartAddress) ?? [];
    group.push(c);
    byAddress.set(c.counterpartAddress, group);
  }
  const batches: StoredContract[][] = [];
  for (const group of byAddress.values()) for (let i = 0; i < group.length; i += perMessage) batches.push(group.slice(i, i + perMessage));
  return batches;
}
