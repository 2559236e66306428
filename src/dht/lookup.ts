/**
 * Kademlia's iterative lookup, independent of sockets: it is given seed contacts and a
 * `query` function, keeps α queries in flight (p-queue), and finishes when the k closest
 * contacts it has seen have all answered. A query that fails or times out frees its slot
 * at once and its contact is never counted among the closest.
 */
import PQueue from 'p-queue';
import { type Contact, compareDistance, idsEqual, toHex } from './id.js';

export interface QueryResult<V> {
  contacts: Contact[];
  /** A value the contact returned, already validated by the caller. */
  value?: V;
}

export interface LookupOptions<V> {
  target: Uint8Array;
  /** Our own ID: never queried, never returned. */
  self: Uint8Array;
  seeds: Contact[];
  k: number;
  alpha: number;
  query: (contact: Contact) => Promise<QueryResult<V>>;
  /** Return true to end the lookup early (e.g. an immutable value was found). */
  stopWhen?: (value: V) => boolean;
}

export interface LookupResult<V> {
  /** Up to k contacts that answered, closest to the target first. */
  contacts: Contact[];
  /** Values returned, with who returned them, in arrival order. */
  values: { value: V; from: Contact }[];
  /** Longest chain of referrals from a seed to a queried contact. */
  rounds: number;
  /** Queries sent. */
  messages: number;
  /** Queries that failed or timed out. */
  failures: number;
}

interface Candidate {
  contact: Contact;
  state: 'new' | 'pending' | 'answered' | 'failed';
  hop: number;
}

export async function iterativeLookup<V>(opts: LookupOptions<V>): Promise<LookupResult<V>> {
  const { target, self, k, alpha } = opts;
  const byId = new Map<string, Candidate>();
  let ordered: Candidate[] = [];
  const result: LookupResult<V> = { contacts: [], values: [], rounds: 0, messages: 0, failures: 0 };
  let stopped = false;

  const consider = (contact: Contact, hop: number) => {
    if (idsEqual(contact.id, self)) return;
    const hex = toHex(contact.id);
    const existing = byId.get(hex);
    if (existing) {
      existing.hop = Math.min(existing.hop, hop);
      return;
    }
    const c: Candidate = { contact, state: 'new', hop };
    byId.set(hex, c);
    insertSorted(c);
  };

  const insertSorted = (c: Candidate) => {
    let lo = 0;
    let hi = ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareDistance(target, ordered[mid]!.contact.id, c.contact.id) < 0) lo = mid + 1;
      else hi = mid;
    }
    ordered.splice(lo, 0, c);
  };

  // The next contact to ask: the closest not yet asked among the k closest still standing.
  const next = (): Candidate | undefined => {
    let alive = 0;
    for (const c of ordered) {
      if (c.state === 'failed') continue;
      if (c.state === 'new') return c;
      if (++alive >= k) return undefined;
    }
    return undefined;
  };

  for (const s of opts.seeds) consider(s, 1);
  const queue = new PQueue({ concurrency: alpha });

  // Our own count, not the queue's: a finishing query refills its slot before p-queue
  // has released it, so the lookup never goes idle while candidates remain.
  let inFlight = 0;
  const pump = () => {
    while (!stopped && inFlight < alpha) {
      const c = next();
      if (!c) return;
      c.state = 'pending';
      inFlight++;
      result.messages++;
      void queue.add(async () => {
        try {
          const res = await opts.query(c.contact);
          c.state = 'answered';
          result.rounds = Math.max(result.rounds, c.hop);
          for (const found of res.contacts) consider(found, c.hop + 1);
          if (res.value !== undefined) {
            result.values.push({ value: res.value, from: c.contact });
            if (opts.stopWhen?.(res.value)) stopped = true;
          }
        } catch {
          c.state = 'failed';
          result.failures++;
        }
        // Drop far candidates that can no longer matter, so the list stays bounded.
        if (ordered.length > k * 8) ordered = ordered.filter((x, i) => i < k * 4 || x.state === 'pending');
        inFlight--;
        pump();
      });
    }
  };

  pump();
  await queue.onIdle();
  result.contacts = ordered.filter((c) => c.state === 'answered').slice(0, k).map((c) => c.contact);
  return result;
}
