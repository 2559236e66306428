/**
 * Which contacts are alive: every request of the DHT goes through here so that silent
 * contacts are counted and dropped, answers add or refresh contacts, strangers are verified
 * with a PING, and a full bucket's oldest contact is challenged before a newcomer replaces it.
 */
import type { Clock } from '../util/clock.js';
import type { Address } from '../net/address.js';
import { type Contact, nodeIdFromAddress } from '../net/node-id.js';
import { toHex } from '../util/bytes.js';
import { type RpcEndpoint, RpcError } from '../rpc/rpc.js';
import type { MessageSpec } from '../wire/codec.js';
import { MAX_PENDING_VERIFICATIONS } from './constants.js';
import { Ping, Pong } from './messages.js';
import type { RoutingTable, TableContact } from './routing-table.js';

export interface RequestOptions {
  timeoutMs?: number;
  retries?: number;
}

/** What liveness needs of the routing table. */
export type LivenessTable = Pick<RoutingTable, 'add' | 'remove' | 'recordFailure' | 'wouldAccept'>;

export interface LivenessComponents {
  rpc: Pick<RpcEndpoint, 'request'>;
  table: LivenessTable;
  clock: Clock;
}

export interface LivenessInit {
  /** Options of a verification PING: short and without retransmits, like a lookup query. */
  probe: RequestOptions;
}

export class ContactLiveness {
  /** Contacts with a verification or challenge PING outstanding, by hex ID. */
  private readonly verifying = new Set<string>();

  constructor(
    private readonly components: LivenessComponents,
    private readonly init: LivenessInit,
  ) {}

  /** Sends a request; a TIMEOUT counts as one failure of the contact at `to`. */
  async request<Req, Res>(to: Address, spec: MessageSpec<Req>, body: Req, expect: MessageSpec<Res>, opts?: RequestOptions): Promise<{ body: Res; from: Contact }> {
    try {
      return await this.components.rpc.request(to, spec, body, expect, opts);
    } catch (err) {
      if (err instanceof RpcError && err.code === 'TIMEOUT') this.components.table.recordFailure(nodeIdFromAddress(to));
      throw err;
    }
  }

  /** Asks `address` for a PONG; resolves with its contact, rejects with RpcError if it does not answer. */
  async ping(address: Address, opts?: RequestOptions): Promise<Contact> {
    return (await this.request(address, Ping, {}, Pong, opts)).from;
  }

  /**
   * Only an answer to one of our requests proves a contact is alive at its address: a
   * request's source may be forged. So answers add or refresh contacts; a request from a
   * stranger earns it a verification PING (when its bucket has room), and a request from a
   * known contact changes nothing, so forged packets cannot keep a dead contact looking fresh.
   */
  sawContact(contact: Contact, kind: 'request' | 'response'): void {
    const { table, clock } = this.components;
    if (kind === 'response') {
      table.add(contact, clock.now());
      return;
    }
    const hex = toHex(contact.id);
    if (this.verifying.has(hex) || this.verifying.size >= MAX_PENDING_VERIFICATIONS || !table.wouldAccept(contact)) return;
    this.verifying.add(hex);
    this.ping(contact, this.init.probe)
      // A stranger that does not answer simply stays out of the table: nothing to report.
      .catch(() => {})
      .finally(() => this.verifying.delete(hex));
  }

  /** The table's `onBucketFull`: `oldest` keeps its place if it answers, else `candidate` takes it. */
  challengeOldest(oldest: TableContact, candidate: Contact): void {
    const hex = toHex(oldest.id);
    if (this.verifying.has(hex)) return;
    this.verifying.add(hex);
    const { table, clock } = this.components;
    this.ping(oldest)
      .catch(() => {
        // The failure is the answer to the challenge, not an error to report.
        table.remove(oldest.id);
        table.add(candidate, clock.now());
      })
      .finally(() => this.verifying.delete(hex));
  }
}
