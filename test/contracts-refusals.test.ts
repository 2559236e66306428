import { expect } from 'chai';
import { explainNoHost, isExcusedRefusal, isHostRefusal, NegotiationError, type Refusal, type RefusalCode, reasonName, reasonText, refusalText, RejectReason } from '../src/contracts/refusals.js';
import { GOOD_STANDING, recordStrike, reviewStanding } from '../src/contracts/policy.js';

const address = { host: '127.0.0.1', port: 1 };
const refusal = (reason: RefusalCode): Refusal => ({ address, host: null, reason });

describe('contract refusals (pure)', function () {
  this.timeout(5000);

  it('has its own text for every code, and names unknown wire codes', () => {
    const codes: RefusalCode[] = [...(Object.keys(RejectReason) as RefusalCode[]), 'NO_ANSWER', 'BAD_ANSWER', 'TOO_LITTLE_SPACE', 'HOST_IS_DEFAULTER'];
    const texts = codes.map(refusalText);
    expect(new Set(texts).size).to.equal(codes.length);
    for (const t of texts) expect(t).to.not.match(/unknown/);
    expect(reasonName(RejectReason.NO_SPACE)).to.equal('NO_SPACE');
    expect(reasonText(RejectReason.NO_SPACE)).to.equal(refusalText('NO_SPACE'));
    expect(reasonName(77)).to.equal('UNKNOWN_77');
    expect(reasonText(77)).to.equal('unknown reason 77');
  });

  it("tells a host's refusal from what the owner found itself", () => {
    expect(isHostRefusal('UNBALANCED')).to.equal(true);
    expect(isHostRefusal('UNKNOWN_40')).to.equal(true);
    expect(isHostRefusal('NO_ANSWER')).to.equal(false);
    expect(isHostRefusal('HOST_IS_DEFAULTER')).to.equal(false);
    expect(isExcusedRefusal(RejectReason.EXPIRED)).to.equal(true);
    expect(isExcusedRefusal(RejectReason.NO_SPACE)).to.equal(false);
  });

  it('explains a failed negotiation in one line, most common code first', () => {
    expect(explainNoHost([])).to.match(/no other peers were found/);
    expect(explainNoHost([refusal('NO_STORAGE_OFFERED'), refusal('NO_STORAGE_OFFERED')])).to.match(/all 2 refused with NO_STORAGE_OFFERED \(this peer offers no storage/);
    expect(explainNoHost([refusal('NO_ANSWER'), refusal('NO_SPACE'), refusal('NO_SPACE')])).to.equal(
      `no host accepted the contract: 2 NO_SPACE (${refusalText('NO_SPACE')}), 1 NO_ANSWER (did not answer)`,
    );
    const err = new NegotiationError('x', [refusal('NO_ANSWER')]);
    expect(err.code).to.equal('NO_HOST');
    expect(err.refusals.map((r) => r.reason)).to.deep.equal(['NO_ANSWER']);
  });
});

describe('standing review (pure)', function () {
  this.timeout(5000);
  const graceMs = 1000;

  it('forgives the strikes of a counterpart that owes us nothing', () => {
    const struck = recordStrike(GOOD_STANDING, 0);
    const change = reviewStanding(struck, () => 0, 5000, graceMs);
    expect(change).to.deep.equal({ kind: 'forgiven', standing: { strikes: 0, strikeSince: null, defaulterSince: null } });
  });

  it('declares a debtor a defaulter once its strikes stood for the grace period, not before', () => {
    const struck = recordStrike(GOOD_STANDING, 0);
    expect(reviewStanding(struck, () => 10, graceMs - 1, graceMs)).to.equal(null);
    expect(reviewStanding(struck, () => 10, graceMs, graceMs)).to.deep.equal({ kind: 'defaulted', standing: { ...struck, defaulterSince: graceMs } });
  });

  it('leaves a clean counterpart and a defaulter alone without asking for the balance', () => {
    const noBalance = () => {
      throw new Error('the balance was not needed');
    };
    expect(reviewStanding(GOOD_STANDING, noBalance, 5000, graceMs)).to.equal(null);
    const defaulter = { strikes: 3, strikeSince: 0, defaulterSince: 2000 };
    expect(reviewStanding(defaulter, noBalance, 9000, graceMs)).to.equal(null);
  });
});
