/**
 * The tracker's bookkeeping, without I/O: which nodes subscribed, when each was last heard
 * from, and which to hand out. Bounded, so a flood of subscriptions cannot grow it without
 * limit; entries that stop pinging expire.
 */
import type { Clock } from '../util/clock.js';

export interface TrackedNode {
  nodeId: string;
  address: string;
  lastSeen: number;
}

export interface RegistryOptions {
  /** A node not heard from for this long is dropped (default 10 min). */
  ttlMs: number;
  /** Most nodes kept; the least recently seen goes first (default 10,000). */
  maxNodes: number;
  /** Most nodes returned by `nodes()` (default 50). */
  maxListed: number;
}

export const DEFAULT_REGISTRY_OPTIONS: RegistryOptions = { ttlMs: 10 * 60_000, maxNodes: 10_000, maxListed: 50 };

export class TrackerRegistry {
  /** Insertion order is recency order: a refreshed node is moved to the end. */
  private readonly byId = new Map<string, TrackedNode>();

  constructor(
    private readonly clock: Clock,
    private readonly options: RegistryOptions = DEFAULT_REGISTRY_OPTIONS,
  ) {}

  subscribe(nodeId: string, address: string): void {
    this.byId.delete(nodeId);
    this.byId.set(nodeId, { nodeId, address, lastSeen: this.clock.now() });
    while (this.byId.size > this.options.maxNodes) this.byId.delete(this.byId.keys().next().value!);
  }

  /** Refreshes a subscribed node; false when the tracker does not know it (it should subscribe). */
  ping(nodeId: string): boolean {
    this.expire();
    const node = this.byId.get(nodeId);
    if (!node) return false;
    this.subscribe(node.nodeId, node.address);
    return true;
  }

  /** The most recently seen live nodes, newest first, without `except`. */
  nodes(except?: string): TrackedNode[] {
    this.expire();
    const out: TrackedNode[] = [];
    for (const node of [...this.byId.values()].reverse()) {
      if (node.nodeId === except) continue;
      out.push({ ...node });
      if (out.length >= this.options.maxListed) break;
    }
    return out;
  }

  get size(): number {
    return this.byId.size;
  }

  private expire(): void {
    const oldest = this.clock.now() - this.options.ttlMs;
    for (const [id, node] of this.byId) {
      if (node.lastSeen >= oldest) break;
      this.byId.delete(id);
    }
  }
}
