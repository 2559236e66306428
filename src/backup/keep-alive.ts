/**
 * Audits our hosts on schedule and acts on the verdicts (audit-policy.ts): a host that passed
 * is forgiven its strikes; one that lost the data, or no longer holds the contract, is cancelled
 * and never given a shard again; one unreachable past the grace period is cancelled.
 */
import { toHex } from '../util/bytes.js';
import type { StoredContract } from '../contracts/store.js';
import type { AuditOutcome } from '../transfer/client.js';
import { isAuditDue, judgeAudit, pastGrace } from './audit-policy.js';
import { firstThatWorks } from './first-that-works.js';
import type { BackupIndex } from './index-db.js';
import type { ShardPlacement } from './placement.js';
import type { Auditor, OwnerContracts } from './ports.js';
import type { ReplicaLocator } from './replica-locator.js';

export interface KeepAliveDeps {
  index: Pick<BackupIndex, 'health' | 'setHealth'>;
  contracts: Pick<OwnerContracts, 'live' | 'cancel' | 'honoured' | 'strike'>;
  auditor: Auditor;
  locator: Pick<ReplicaLocator, 'addressesOf'>;
  placement: Pick<ShardPlacement, 'exclude'>;
  /** ms a host may stay unreachable before its contract is cancelled. */
  hostGraceMs: number;
}

export interface AuditReport {
  audited: number;
  failed: number;
  cancelled: number;
}

export class KeepAlive {
  /** Audits that found no host at any address (each only means: try the next address). */
  unanswered = 0;

  constructor(private readonly deps: KeepAliveDeps) {}

  /** Audits every active contract that is due at `now` (every one with `auditAll`) and acts on the verdicts. */
  async auditDue(now: number, auditAll = false): Promise<AuditReport> {
    const { index, contracts } = this.deps;
    const report: AuditReport = { audited: 0, failed: 0, cancelled: 0 };
    // Hosts found unreachable in this pass: their other contracts need no second try.
    const unreachable = new Set<string>();
    for (const c of contracts.live()) {
      if (c.state !== 'active') continue;
      const health = index.health(c.contract.id);
      if (!auditAll && !isAuditDue(health.lastAuditAt, c.contract.terms.auditIntervalSeconds, now)) continue;
      report.audited++;
      const verdict = judgeAudit(unreachable.has(toHex(c.counterpart)) ? null : await this.auditWherever(c));
      if (verdict === 'passed') {
        index.setHealth(c.contract.id, now, null);
        contracts.honoured(c.counterpart);
        continue;
      }
      if (verdict === 'lost' || verdict === 'gone') {
        // The host lost or altered data (or no longer honours the contract): it goes, and
        // it is not asked to keep this shard again.
        report.failed++;
        if (verdict === 'lost') contracts.strike(c.counterpart);
        this.deps.placement.exclude(c.counterpart);
        await contracts.cancel(c);
        report.cancelled++;
        continue;
      }
      // Unreachable: short downtime costs nothing; past the grace period the contract goes.
      unreachable.add(toHex(c.counterpart));
      const since = health.unreachableSince ?? now;
      index.setHealth(c.contract.id, health.lastAuditAt, since);
      if (pastGrace(since, now, this.deps.hostGraceMs)) {
        // The contract is cancelled here at once; the signed notice to a host we could not
        // reach is sent without waiting for it to time out (it may still be alive elsewhere).
        void contracts.cancel(c);
        report.cancelled++;
      }
    }
    return report;
  }

  /**
   * Audits a host at its last known address and, if nothing answers there, at the address
   * its peer record gives (it may have moved). Null when it cannot be reached at all.
   */
  private auditWherever(c: StoredContract): Promise<AuditOutcome | null> {
    return firstThatWorks(
      this.deps.locator.addressesOf(c),
      (address) => this.deps.auditor.audit(address, c),
      () => this.unanswered++,
    );
  }
}
