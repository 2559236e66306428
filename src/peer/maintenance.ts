/**
 * The order of a peer's periodic bookkeeping, and its timer: contracts first (lapsed
 * reservations, expiries, defaulters), then the sweep of shards no contract needs, then our
 * backups' keep-alive (audits, cancellations, re-replication), then our peer record and our
 * owners' root records. A pass that fails is counted and logged; the next one tries again.
 */
import { type Clock, every } from '../util/clock.js';
import type { ContractService } from '../contracts/service.js';
import type { BackupEngine } from '../backup/engine.js';
import type { MaintenanceReport } from '../backup/types.js';
import type { Discovery } from './discovery.js';
import type { Failures } from './failures.js';
import type { HostDuties } from './host-duties.js';

export interface PeerMaintenanceComponents {
  clock: Clock;
  failures: Failures;
  contracts: Pick<ContractService, 'maintain'>;
  hostDuties: Pick<HostDuties, 'removeOrphanShards' | 'republishOwnersRoots'>;
  backups: Pick<BackupEngine, 'maintain'>;
  discovery: Pick<Discovery, 'publishRecord'>;
  /** A backup keep-alive pass audited, cancelled or re-replicated something. */
  onBackupReport(report: MaintenanceReport): void;
}

export class PeerMaintenance {
  private cancelTimer: () => void = () => {};
  private stopped = false;

  constructor(private readonly components: PeerMaintenanceComponents) {}

  /** Runs a pass every `intervalMs` until `stop()`. */
  start(intervalMs: number): void {
    this.cancelTimer = every(this.components.clock, intervalMs, () => {
      void this.run().catch((err: unknown) => this.components.failures.note('maintenance', err));
    });
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer();
  }

  /** One pass now, in order; nothing once stopped. */
  async run(): Promise<void> {
    if (this.stopped) return;
    const { contracts, hostDuties, discovery } = this.components;
    await contracts.maintain();
    // Events delete shards as contracts end; this sweep makes sure, and waits for it.
    await hostDuties.removeOrphanShards();
    await this.backups();
    await discovery.publishRecord();
    await hostDuties.republishOwnersRoots();
  }

  /** The backup keep-alive now: due audits, cancellations, re-replication. */
  async backups(): Promise<MaintenanceReport> {
    return this.report(await this.components.backups.maintain());
  }

  /** Audits every host of our backups now, due or not, then cancels and re-replicates what failed. */
  async check(): Promise<MaintenanceReport> {
    return this.report(await this.components.backups.maintain(this.components.clock.now(), { auditAll: true }));
  }

  private report<T extends MaintenanceReport>(report: T): T {
    if (report.audited + report.cancelled + report.replaced > 0) this.components.onBackupReport({ ...report });
    return report;
  }
}
