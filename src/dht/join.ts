/**
 * Joining the network: PING the bootstrap nodes, look up our own ID, then refresh the
 * buckets farther than our closest neighbour. The bootstrap nodes are remembered: lookups
 * start from them when the table is empty, and maintenance joins again through them.
 */
import { type Address, formatAddress, parseAddress } from '../net/address.js';
import { nodeIdFromAddress } from '../net/node-id.js';
import { bytesEqual } from '../util/bytes.js';
import { JOIN_PING_ATTEMPTS } from './constants.js';
import { DhtError } from './errors.js';
import { commonPrefixLength, randomIdInBucket } from './id.js';
import type { ContactLiveness } from './liveness.js';
import type { LookupRunner } from './lookup-runner.js';
import type { RoutingTable } from './routing-table.js';

export interface JoinComponents {
  liveness: Pick<ContactLiveness, 'ping'>;
  lookups: Pick<LookupRunner, 'findNode'>;
  table: Pick<RoutingTable, 'closest'>;
}

export interface JoinInit {
  self: Uint8Array;
  retries: number;
  refreshOnJoin: boolean;
}

export class Join {
  /** The bootstrap nodes of the last join (never ourselves). */
  addresses: Address[] = [];

  constructor(
    private readonly components: JoinComponents,
    private readonly init: JoinInit,
  ) {}

  /** Joins through `addresses`; throws DhtError('NO_BOOTSTRAP') if none of them answered. */
  async bootstrap(addresses: Array<string | Address>): Promise<void> {
    const { liveness, lookups, table } = this.components;
    const { self } = this.init;
    const targets = addresses.map((a) => (typeof a === 'string' ? parseAddress(a) : a)).filter((a) => !bytesEqual(nodeIdFromAddress(a), self));
    this.addresses = targets;
    if (targets.length === 0) return;
    const retries = Math.max(this.init.retries, JOIN_PING_ATTEMPTS - 1);
    const answers = await Promise.allSettled(targets.map((a) => liveness.ping(a, { retries })));
    if (!answers.some((a) => a.status === 'fulfilled')) {
      throw new DhtError('NO_BOOTSTRAP', `no bootstrap node answered (tried ${targets.map(formatAddress).join(', ')})`);
    }
    await lookups.findNode(self);
    if (!this.init.refreshOnJoin) return;
    const nearest = table.closest(self, 1)[0];
    const depth = nearest ? commonPrefixLength(self, nearest.id) : 0;
    for (let i = 0; i < depth; i++) await lookups.findNode(randomIdInBucket(self, i));
  }
}
