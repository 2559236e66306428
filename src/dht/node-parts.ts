/**
 * The parts of a DHT node that depend on its ID: the routing table (buckets are distances from
 * us), contact liveness, lookups, joining, values and maintenance. A node whose ID follows its
 * external address (self-address.ts) builds them again when it adopts a new address and hands
 * over what the old ones knew: contacts, bootstrap nodes, the values it republishes.
 */
import type { Clock } from '../util/clock.js';
import type { Address } from '../net/address.js';
import type { RpcEndpoint } from '../rpc/rpc.js';
import { Join } from './join.js';
import { ContactLiveness } from './liveness.js';
import { LookupRunner } from './lookup-runner.js';
import { Maintenance } from './maintenance.js';
import type { DhtSettings } from './options.js';
import { RoutingTable } from './routing-table.js';
import type { ValueStore } from './value-store.js';
import { DhtValues } from './values.js';

export interface NodeParts {
  self: Uint8Array;
  address: Address;
  table: RoutingTable;
  liveness: ContactLiveness;
  lookups: LookupRunner;
  joining: Join;
  values: DhtValues;
  maintenance: Maintenance;
}

/** What every generation of parts shares: the socket, the values held for others, the counters. */
export interface SharedParts {
  rpc: RpcEndpoint;
  store: ValueStore;
  clock: Clock;
  settings: DhtSettings;
  counters: { lookups: number; invalidValues: number; maintenanceErrors: number };
}

export function buildParts(shared: SharedParts, self: Uint8Array, address: Address): NodeParts {
  const { rpc, store, clock, settings, counters } = shared;
  const probe = { timeoutMs: settings.lookupTimeoutMs, retries: 0 };
  // The table asks liveness to challenge a full bucket's oldest contact; liveness needs the table.
  let liveness: ContactLiveness | undefined;
  const table = new RoutingTable(self, {
    k: settings.k,
    maxPerIpPerBucket: settings.maxPerIpPerBucket,
    maxFailures: settings.maxFailures,
    freshForMs: settings.freshContactMs,
    onBucketFull: (oldest, candidate) => liveness?.challengeOldest(oldest, candidate),
  });
  liveness = new ContactLiveness({ rpc, table, clock }, { probe });
  let joining: Join | undefined;
  const lookups = new LookupRunner(
    { liveness, table, clock, fallbackSeeds: () => joining?.addresses ?? [], counters },
    { self, k: settings.k, alpha: settings.alpha, lookupTimeoutMs: settings.lookupTimeoutMs },
  );
  joining = new Join({ liveness, lookups, table }, { self, retries: settings.retries, refreshOnJoin: settings.refreshOnJoin });
  const values = new DhtValues({ lookups, liveness, store, clock, counters }, { self, address, ...settings });
  const maintenance = new Maintenance({ clock, table, store, join: joining, lookups, values, counters }, settings);
  return { self, address, table, liveness, lookups, joining, values, maintenance };
}

/**
 * Moves what `old` knew into `next`: its contacts (re-sorted into buckets around the new ID),
 * the bootstrap nodes and the values it republishes. Stops `old`'s maintenance.
 */
export function handOver(old: NodeParts, next: NodeParts): void {
  old.maintenance.stop();
  for (const c of old.table.all()) next.table.add(c, c.lastSeen);
  next.joining.addresses = old.joining.addresses;
  next.values.takeOver(old.values);
}
