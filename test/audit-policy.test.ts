import { expect } from 'chai';
import { isAuditDue, isLasting, judgeAudit, pastGrace } from '../src/backup/audit-policy.js';
import type { AuditFailure } from '../src/transfer/client.js';

const failed = (failure: AuditFailure) => ({ passed: false, leaves: [1], failure, reason: failure });

describe('audit policy (pure: what an audit means, when to audit, when to give up)', () => {
  it('passes a host that proved its leaves; cannot judge one that could not be reached', () => {
    expect(judgeAudit({ passed: true, leaves: [1, 2] })).to.equal('passed');
    expect(judgeAudit(null)).to.equal('unreachable');
  });

  it('treats answers that say nothing about the data as unreachable', () => {
    for (const f of ['BUSY', 'INTERNAL', 'IDLE_TIMEOUT', 'CONNECTION_LOST', 'SLOW_SENDER'] as const) expect(judgeAudit(failed(f)), f).to.equal('unreachable');
  });

  it('gives up without a strike on a host that holds no contract for the shard any more', () => {
    for (const f of ['WRONG_STATE', 'UNKNOWN_CONTRACT'] as const) expect(judgeAudit(failed(f)), f).to.equal('gone');
  });

  it('judges lost or altered data, a refusal and a garbled answer as lost', () => {
    for (const f of ['NOT_STORED', 'BAD_LEAF', 'INCOMPLETE_PROOF', 'BAD_ANSWER', 'REFUSED', 'HASH_MISMATCH'] as const) expect(judgeAudit(failed(f)), f).to.equal('lost');
    // An outcome without a code (from an older client) counts as a garbled answer.
    expect(judgeAudit({ passed: false, leaves: [] })).to.equal('lost');
  });

  it('audits a contract never audited, or once its interval has passed', () => {
    expect(isAuditDue(null, 3600, 0)).to.equal(true);
    expect(isAuditDue(1000, 3600, 1000 + 3_599_999)).to.equal(false);
    expect(isAuditDue(1000, 3600, 1000 + 3_600_000)).to.equal(true);
    expect(isAuditDue(1000, 0, 1000)).to.equal(true);
  });

  it('cancels an unreachable host once the grace period is over, not before', () => {
    expect(pastGrace(0, 86_399_999, 86_400_000)).to.equal(false);
    expect(pastGrace(0, 86_400_000, 86_400_000)).to.equal(true);
    expect(pastGrace(5, 5, 0)).to.equal(true);
  });

  it('stops counting a contract as a replica in the last tenth of its length', () => {
    const terms = { createdAt: 0, expiresAt: 1000 };
    expect(isLasting(terms, 899_000, 0.1)).to.equal(true);
    expect(isLasting(terms, 900_000, 0.1)).to.equal(false);
    expect(isLasting(terms, 1_000_000, 0)).to.equal(false);
    expect(isLasting(terms, 999_000, 0)).to.equal(true);
  });
});
