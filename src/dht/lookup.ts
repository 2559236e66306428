/**
 * Kademlia's iterative lookup, independent of sockets: it is given seed contacts and a
 * `query` function, keeps α queries active, and finishes when the k closest contacts it has
 * seen have all answered.
 *
 * Slow peers must not stall it: a query that fails frees its slot at once, and one that has
 * not answered after `slowAfterMs` stops counting against α (its answer is still used if it
 * comes), up to `maxOutstanding` queries in all. Each reply contributes at most k referrals,
 * so one hostile peer cannot flood the candidate list.
 *
 * Loss has one rule (LOOKUP_ATTEMPTS in constants.ts): each contact is asked once; only when
 * the lookup would end without a single answer are the contacts that failed asked again,
 * up to `attempts` times each.
 */
import type { Contact } from '../net/node-id.js';
import { compareDistance } from './id.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import { LOOKUP_ATTEMPTS, MAX_OUTSTANDING_PER_ALPHA } from './constants.js';

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
  /** After this long an unanswered query no longer holds one of the α slots (default: never). */
  slowAfterMs?: number;
  /** Timer for `slowAfterMs` (defaults to the global one). */
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
  /** Queries in flight at most, slow ones included (default MAX_OUTSTANDING_PER_ALPHA × α). */
  maxOutstanding?: number;
  /** Times a contact may be asked while nobody has answered (default LOOKUP_ATTEMPTS). */
  attempts?: number;
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
  slow: boolean;
  /** Queries sent to it so far. */
  asked: number;
}

const defaultTimer = (fn: () => void, ms: number) => {
  const t = setTimeout(fn, ms);
  return { cancel: () => clearTimeout(t) };
};

export function iterativeLookup<V>(opts: LookupOptions<V>): Promise<LookupResult<V>> {
  const { target, self, k, alpha } = opts;
  const maxOutstanding = opts.maxOutstanding ?? alpha * MAX_OUTSTANDING_PER_ALPHA;
  const attempts = opts.attempts ?? LOOKUP_ATTEMPTS;
  const setTimer = opts.setTimer ?? defaultTimer;
  const byId = new Map<string, Candidate>();
  let ordered: Candidate[] = [];
  const result: LookupResult<V> = { contacts: [], values: [], rounds: 0, messages: 0, failures: 0 };
  let stopped = false;
  /** Queries holding an α slot, and all queries not yet settled. */
  let active = 0;
  let outstanding = 0;
  let answered = 0;

  const consider = (contact: Contact, hop: number) => {
    if (bytesEqual(contact.id, self)) return;
    const hex = toHex(contact.id);
    const existing = byId.get(hex);
    if (existing) {
      existing.hop = Math.min(existing.hop, hop);
      return;
    }
    const c: Candidate = { contact, state: 'new', hop, slow: false, asked: 0 };
    byId.set(hex, c);
    let lo = 0;
    let hi = ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareDistance(target, ordered[mid]!.contact.id, contact.id) < 0) lo = mid + 1;
      else hi = mid;
    }
    ordered.splice(lo, 0, c);
  };

  // The closest contact not yet asked among the k closest still standing.
  const closestNew = (): Candidate | undefined => {
    let alive = 0;
    for (const c of ordered) {
      if (c.state === 'failed') continue;
      if (c.state === 'new') return c;
      if (++alive >= k) return undefined;
    }
    return undefined;
  };

  // The next contact to ask. When the lookup would end without a single answer (nobody new
  // to ask, nothing in flight), the contacts that failed and have attempts left are asked again.
  const next = (): Candidate | undefined => {
    const c = closestNew();
    if (c || answered > 0 || outstanding > 0) return c;
    let again = false;
    for (const x of ordered) {
      if (x.state === 'failed' && x.asked < attempts) {
        x.state = 'new';
        again = true;
      }
    }
    return again ? closestNew() : undefined;
  };

  for (const s of opts.seeds) consider(s, 1);

  return new Promise((resolve) => {
    const finishIfDone = () => {
      if (outstanding > 0) return;
      result.contacts = ordered.filter((c) => c.state === 'answered').slice(0, k).map((c) => c.contact);
      resolve(result);
    };

    const start = (c: Candidate) => {
      c.state = 'pending';
      c.asked++;
      active++;
      outstanding++;
      result.messages++;
      const timer =
        opts.slowAfterMs === undefined
          ? undefined
          : setTimer(() => {
              if (c.state !== 'pending') return;
              c.slow = true;
              active--;
              pump();
            }, opts.slowAfterMs);
      opts.query(c.contact).then(
        (res) => {
          c.state = 'answered';
          answered++;
          result.rounds = Math.max(result.rounds, c.hop);
          for (const found of res.contacts.slice(0, k)) consider(found, c.hop + 1);
          if (res.value !== undefined) {
            result.values.push({ value: res.value, from: c.contact });
            if (opts.stopWhen?.(res.value)) stopped = true;
          }
          settle(c, timer);
        },
        () => {
          c.state = 'failed';
          result.failures++;
          settle(c, timer);
        },
      );
    };

    const settle = (c: Candidate, timer: { cancel(): void } | undefined) => {
      timer?.cancel();
      if (!c.slow) active--;
      outstanding--;
      // Drop far candidates that can no longer matter, so the list stays bounded.
      if (ordered.length > k * 8) ordered = ordered.filter((x, i) => i < k * 4 || x.state === 'pending');
      pump();
      finishIfDone();
    };

    const pump = () => {
      while (!stopped && active < alpha && outstanding < maxOutstanding) {
        const c = next();
        if (!c) return;
        start(c);
      }
    };

    pump();
    finishIfDone();
  });
}
