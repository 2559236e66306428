/**
 * The routing table: k-bucket's tree of k-buckets plus the rules Kademlia and our threat
 * model add on top. Pure (no sockets): when a full bucket needs its oldest contact pinged,
 * it asks its owner through `onBucketFull` and is told the outcome later.
 *
 * - Only contacts that answered us directly are added (the node enforces this).
 * - A full bucket keeps its contacts; the least-recently-seen one is pinged and replaced
 *   only if it fails to answer (old contacts that stay up are the most reliable).
 * - At most `maxPerIpPerBucket` contacts from one source (an IPv4 address or an IPv6 /64)
 *   share a bucket (bucket = the number of leading bits shared with our ID), so one machine
 *   cannot fill a region of the table.
 */
import KBucket from 'k-bucket';
import { sourceKey } from '../util/ip.js';
import type { Contact } from '../net/node-id.js';
import { commonPrefixLength, compareDistance, ID_BITS, randomIdInBucket } from './id.js';
import { bytesEqual } from '../util/bytes.js';

/** A contact in the table, with what we know of its liveness. */
export interface TableContact extends Contact {
  lastSeen: number;
  failures: number;
  vectorClock: number;
}

export type AddOutcome = 'added' | 'updated' | 'bucket-full' | 'ip-limit' | 'self';

export interface RoutingTableOptions {
  k: number;
  maxPerIpPerBucket: number;
  /**
   * A least-recently-seen contact that answered within this window is kept without a
   * ping when a newcomer wants its bucket (BEP 5's "good node" rule), so a busy node does
   * not answer every sighting with a challenge.
   */
  freshForMs: number;
  /** Consecutive failed requests after which a contact is dropped. */
  maxFailures: number;
  /** Called when `candidate` wants into a full bucket whose least-recently-seen contact is `oldest`. */
  onBucketFull: (oldest: TableContact, candidate: Contact) => void;
}

export class RoutingTable {
  private readonly buckets: KBucket<TableContact>;
  private readonly lastActivity = new Array<number>(ID_BITS + 1).fill(0);
  /** Contacts per bucket index, and per bucket index and IP, kept in step with k-bucket's events. */
  private readonly perBucket = new Array<number>(ID_BITS + 1).fill(0);
  private readonly perBucketIp = new Map<string, number>();
  private lastOutcome: AddOutcome = 'added';
  private now = 0;

  constructor(
    readonly localId: Uint8Array,
    private readonly options: RoutingTableOptions,
  ) {
    this.buckets = new KBucket<TableContact>({
      localNodeId: localId,
      numberOfNodesPerKBucket: options.k,
      numberOfNodesToPing: 1,
      // The freshest sighting of a contact always wins.
      arbiter: (_incumbent, candidate) => candidate,
    });
    this.buckets.on('ping', (oldContacts: TableContact[], candidate: TableContact) => {
      this.lastOutcome = 'bucket-full';
      const oldest = oldContacts[0];
      if (oldest && this.now - oldest.lastSeen >= this.options.freshForMs) this.options.onBucketFull(oldest, candidate);
    });
    this.buckets.on('added', (c: TableContact) => this.count(c, +1));
    this.buckets.on('removed', (c: TableContact) => this.count(c, -1));
  }

  private count(c: Contact, delta: number): void {
    const index = commonPrefixLength(this.localId, c.id);
    this.perBucket[index]! += delta;
    const key = `${index}|${sourceKey(c.host)}`;
    const n = (this.perBucketIp.get(key) ?? 0) + delta;
    if (n > 0) this.perBucketIp.set(key, n);
    else this.perBucketIp.delete(key);
  }

  /** Adds or refreshes a contact that has just answered us. */
  add(contact: Contact, now: number): AddOutcome {
    if (bytesEqual(contact.id, this.localId)) return 'self';
    this.now = now;
    const existing = this.buckets.get(contact.id);
    const entry: TableContact = { id: contact.id, host: contact.host, port: contact.port, lastSeen: now, failures: 0, vectorClock: 0 };
    this.touch(contact.id, now);
    if (existing) {
      this.buckets.add(entry);
      return 'updated';
    }
    if (this.countSameIpInBucket(contact) >= this.options.maxPerIpPerBucket) return 'ip-limit';
    this.lastOutcome = 'added';
    this.buckets.add(entry);
    return this.lastOutcome;
  }

  /**
   * Whether adding `contact` could succeed right now without evicting anyone. A bucket
   * index holding k contacts is full for good: had it been splittable, it would have split.
   */
  wouldAccept(contact: Contact): boolean {
    if (bytesEqual(contact.id, this.localId) || this.buckets.get(contact.id)) return false;
    if (this.perBucket[commonPrefixLength(this.localId, contact.id)]! >= this.options.k) return false;
    return this.countSameIpInBucket(contact) < this.options.maxPerIpPerBucket;
  }

  get(id: Uint8Array): TableContact | undefined {
    return this.buckets.get(id) ?? undefined;
  }

  has(id: Uint8Array): boolean {
    return this.buckets.get(id) !== null;
  }

  remove(id: Uint8Array): void {
    this.buckets.remove(id);
  }

  /** Records a failed request; drops the contact after `maxFailures` in a row. Returns true if dropped. */
  recordFailure(id: Uint8Array): boolean {
    const c = this.buckets.get(id);
    if (!c) return false;
    c.failures++;
    if (c.failures >= this.options.maxFailures) {
      this.buckets.remove(id);
      return true;
    }
    return false;
  }

  /** The `n` known contacts closest to `target`, closest first (exact XOR order). */
  closest(target: Uint8Array, n: number): TableContact[] {
    // k-bucket collects whole buckets around the target; re-sort exactly since its numeric
    // distance loses precision beyond 53 bits.
    return this.buckets
      .closest(target, Math.max(n * 2, n + 8))
      .sort((a, b) => compareDistance(target, a.id, b.id))
      .slice(0, n);
  }

  all(): TableContact[] {
    return this.buckets.toArray();
  }

  get size(): number {
    return this.buckets.count();
  }

  /** Marks the bucket that `id` falls into as recently used (a lookup went through it). */
  touch(id: Uint8Array, now: number): void {
    this.lastActivity[commonPrefixLength(this.localId, id)] = now;
  }

  /**
   * Random targets, one per bucket that has seen no activity for `maxIdleMs`, for every
   * bucket index up to just past the deepest one we have contacts in.
   */
  staleBucketTargets(now: number, maxIdleMs: number): Uint8Array[] {
    let deepest = 0;
    this.perBucket.forEach((n, i) => n > 0 && (deepest = i));
    const targets: Uint8Array[] = [];
    for (let i = 0; i <= Math.min(deepest + 1, ID_BITS - 1); i++) {
      if (now - this.lastActivity[i]! >= maxIdleMs) {
        targets.push(randomIdInBucket(this.localId, i));
        this.lastActivity[i] = now;
      }
    }
    return targets;
  }

  /** Number of contacts per bucket index (for diagnostics and tests). */
  bucketSizes(): Map<number, number> {
    const sizes = new Map<number, number>();
    this.perBucket.forEach((n, i) => n > 0 && sizes.set(i, n));
    return sizes;
  }

  private countSameIpInBucket(contact: Contact): number {
    return this.perBucketIp.get(`${commonPrefixLength(this.localId, contact.id)}|${sourceKey(contact.host)}`) ?? 0;
  }
}

