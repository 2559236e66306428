/**
 * Runs the pure iterative lookup (lookup.ts) over the network: where a lookup starts, how
 * each FIND_NODE / FIND_VALUE query is sent, and what the replies yield.
 */
import type { Clock } from '../util/clock.js';
import type { Address } from '../net/address.js';
import { type Contact, contactFromAddress } from '../net/node-id.js';
import { toHex } from '../util/bytes.js';
import { LOOKUP_ATTEMPTS, SLOW_QUERY_DIVISOR } from './constants.js';
import type { ContactLiveness, RequestOptions } from './liveness.js';
import { iterativeLookup, type LookupResult, type QueryResult } from './lookup.js';
import { FindNode, FindValue, Nodes, Value } from './messages.js';
import { checkRecord, type DhtRecord, isMutable } from './records.js';
import type { RoutingTable } from './routing-table.js';

export interface LookupReport extends Omit<LookupResult<never>, 'values'> {
  /** Write tokens the answering contacts gave us, by hex ID (for STORE). */
  tokens: Map<string, Uint8Array>;
}

export interface LookupComponents {
  liveness: Pick<ContactLiveness, 'request'>;
  table: Pick<RoutingTable, 'closest' | 'touch'>;
  clock: Clock;
  /** The nodes to start from when the table is empty: the bootstrap nodes. */
  fallbackSeeds: () => Address[];
  counters: { lookups: number; invalidValues: number };
}

export interface LookupInit {
  self: Uint8Array;
  k: number;
  alpha: number;
  lookupTimeoutMs: number;
}

export class LookupRunner {
  constructor(
    private readonly components: LookupComponents,
    private readonly init: LookupInit,
  ) {}

  /** Options of every lookup query: one datagram, its own timeout, no retransmit (see LOOKUP_ATTEMPTS). */
  get queryOptions(): RequestOptions {
    return { timeoutMs: this.init.lookupTimeoutMs, retries: 0 };
  }

  /** An iterative FIND_NODE lookup with its statistics (rounds, messages) and write tokens. */
  async findNode(target: Uint8Array): Promise<LookupReport> {
    const tokens = new Map<string, Uint8Array>();
    const result = await this.run<never>(target, async (contact) => {
      const res = await this.components.liveness.request(contact, FindNode, { target }, Nodes, this.queryOptions);
      tokens.set(toHex(contact.id), res.body.token);
      return { contacts: res.body.nodes.map(contactFromAddress) };
    });
    const { values: _values, ...rest } = result;
    return { ...rest, tokens };
  }

  /**
   * An iterative FIND_VALUE lookup: every record returned is checked (bad ones are counted
   * and ignored); it stops at the first good immutable one.
   */
  findValue(key: Uint8Array): Promise<LookupResult<DhtRecord>> {
    return this.run<DhtRecord>(
      key,
      async (contact) => {
        const res = await this.components.liveness.request(contact, FindValue, { key }, Value, this.queryOptions);
        const { record } = res.body;
        const contacts = res.body.nodes.map(contactFromAddress);
        if (record && checkRecord(key, record) !== null) {
          this.components.counters.invalidValues++;
          return { contacts };
        }
        return { contacts, ...(record ? { value: record } : {}) };
      },
      (record) => !isMutable(record),
    );
  }

  /**
   * The contacts a lookup starts from: the closest in the table or, when the table is empty,
   * the bootstrap nodes again. On a lossy link a node that knows few peers can see each of
   * them time out twice in a row and drop them all; without this every lookup would find
   * nothing until maintenance re-bootstraps it, up to a minute later (found by the fault
   * tests at 10% loss; test/faults/net-join.test.ts).
   */
  private seeds(target: Uint8Array): Contact[] {
    const closest = this.components.table.closest(target, this.init.k);
    if (closest.length > 0) return closest;
    return this.components.fallbackSeeds().map(contactFromAddress);
  }

  private run<V>(target: Uint8Array, query: (c: Contact) => Promise<QueryResult<V>>, stopWhen?: (v: V) => boolean): Promise<LookupResult<V>> {
    const { clock, table, counters } = this.components;
    counters.lookups++;
    table.touch(target, clock.now());
    return iterativeLookup<V>({
      target,
      self: this.init.self,
      seeds: this.seeds(target),
      k: this.init.k,
      alpha: this.init.alpha,
      attempts: LOOKUP_ATTEMPTS,
      slowAfterMs: Math.max(1, Math.floor(this.init.lookupTimeoutMs / SLOW_QUERY_DIVISOR)),
      setTimer: (fn, ms) => {
        const handle = clock.setTimeout(fn, ms);
        handle.unref?.();
        return { cancel: () => clock.clearTimeout(handle) };
      },
      query,
      ...(stopWhen ? { stopWhen } : {}),
    });
  }
}
