/**
 * The DHT's periodic work as a service with start/stop: each pass expires values, joins
 * again when the table has emptied, refreshes stale buckets, republishes what this node put
 * and re-replicates what it holds for others. One pass at a time.
 */
import { debuglog } from 'node:util';
import { type Clock, every } from '../util/clock.js';
import type { Join } from './join.js';
import type { LookupRunner } from './lookup-runner.js';
import type { RoutingTable } from './routing-table.js';
import type { ValueStore } from './value-store.js';
import type { DhtValues } from './values.js';

const debug = debuglog('dht');

export interface MaintenanceComponents {
  clock: Clock;
  table: Pick<RoutingTable, 'size' | 'staleBucketTargets'>;
  store: Pick<ValueStore, 'sweep'>;
  join: Pick<Join, 'addresses' | 'bootstrap'>;
  lookups: Pick<LookupRunner, 'findNode'>;
  values: Pick<DhtValues, 'republishDue' | 'replicateDue'>;
  /** Counts a pass or a step of one that failed (the next pass tries again). */
  counters: { maintenanceErrors: number };
}

export interface MaintenanceInit {
  maintenanceIntervalMs: number;
  refreshIntervalMs: number;
}

export class Maintenance {
  private cancelTimer: (() => void) | undefined;
  private running = false;
  private stopped = false;

  constructor(
    private readonly components: MaintenanceComponents,
    private readonly init: MaintenanceInit,
  ) {}

  /** Runs a pass every `maintenanceIntervalMs` until `stop()`. */
  start(): void {
    if (this.cancelTimer || this.stopped) return;
    this.cancelTimer = every(this.components.clock, this.init.maintenanceIntervalMs, () => {
      void this.run().catch((err) => this.failed('maintenance pass', err));
    });
  }

  /** Cancels the timer; a pass under way ends at its next step. */
  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  /** Runs one pass now, unless one is under way or the service was stopped. */
  async run(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    const { clock, table, store, join, lookups, values } = this.components;
    const isStopped = () => this.stopped;
    try {
      store.sweep();
      const now = clock.now();
      if (table.size === 0 && join.addresses.length > 0) {
        await join.bootstrap(join.addresses).catch((err) => this.failed('re-joining', err));
      }
      for (const target of table.staleBucketTargets(now, this.init.refreshIntervalMs)) {
        if (this.stopped) return;
        await lookups.findNode(target);
      }
      await values.republishDue(now, isStopped);
      await values.replicateDue(now, isStopped);
    } finally {
      this.running = false;
    }
  }

  private failed(what: string, err: unknown): void {
    this.components.counters.maintenanceErrors++;
    debug('%s failed: %s', what, err instanceof Error ? err.message : err);
  }
}
