/**
 * src/erasure/hedge.ts, pure (the clock is a number): when a piece request counts as slow enough
 * for a hedge. Its recent pace decides, not its average since the start.
 */
import { expect } from 'chai';
import { hedgePolicy, newProgress, type RequestProgress, slowRequests, updateMarks } from '../src/erasure/hedge.js';

const policy = hedgePolicy({ stallMs: 10_000, slowFactor: 2, minDelayMs: 250, rateWindowMs: 250 });
const P = 1_000_000;

/** A request started at `startedAt` with `bytes` now, whose pace is measured from `mark`. */
function req(index: number, startedAt: number, bytes: number, mark: { at: number; bytes: number } = { at: startedAt, bytes: 0 }, lastByteAt = startedAt): RequestProgress {
  return { index, startedAt, bytes, mark, next: mark, lastByteAt };
}

describe('hedging: when a piece request is slow', () => {
  it('never before minDelayMs, however slow it looks', () => {
    expect(slowRequests([req(1, 0, 0)], [10], P, 249, policy)).to.deep.equal([]);
  });

  it('slow once its time to go is twice the fastest one\'s duration; not at less', () => {
    // The other piece took 100 ms. At 300 ms: 10% done has 2.7 s to go (slow), 80% has 75 ms.
    expect(slowRequests([req(1, 0, P / 10)], [100], P, 300, policy)).to.deep.equal([1]);
    expect(slowRequests([req(1, 0, (P * 8) / 10)], [100], P, 300, policy)).to.deep.equal([]);
  });

  it('a silent request is slow once its silence lasts twice the others\' whole duration, not a moment before', () => {
    // The other piece took 100 ms: silent since its start, slow at 250 ms (minDelayMs), not at 249.
    expect(slowRequests([req(3, 0, 0)], [100], P, 250, policy)).to.deep.equal([3]);
    // Half done, then silent since 150: at 300 it has been silent 150 ms (< 200), at 350 200 ms.
    expect(slowRequests([req(3, 0, P / 2, { at: 50, bytes: P / 2 }, 150)], [100], P, 300, policy)).to.deep.equal([]);
    expect(slowRequests([req(3, 0, P / 2, { at: 50, bytes: P / 2 }, 150)], [100], P, 350, policy)).to.deep.equal([3]);
    // Others slower (400 ms each): 300 ms of silence is a moment.
    expect(slowRequests([req(3, 0, 0)], [400], P, 300, policy)).to.deep.equal([]);
  });

  it('a request held back while the others ran, and faster since, is not hedged (its recent pace counts)', () => {
    // 60% at 600 ms, 10% of it at 350 ms: 50% in the last 250 ms leaves 200 ms to go, under
    // twice the 120 ms the other took; its average since the start (400 ms to go) would hedge.
    expect(slowRequests([req(1, 0, 0.6 * P, { at: 350, bytes: 0.1 * P })], [120], P, 600, policy)).to.deep.equal([]);
    expect(slowRequests([req(1, 0, 0.6 * P)], [120], P, 600, policy)).to.deep.equal([1]);
  });

  it('no verdict on less than a window of pace', () => {
    expect(slowRequests([req(1, 0, P / 100, { at: 200, bytes: 0 })], [100], P, 300, policy)).to.deep.equal([]);
  });

  it('compares running requests with each other before any finished', () => {
    const running = [req(0, 0, P / 2), req(1, 0, P / 8)]; // 800 ms in all, against 2.8 s still to go
    expect(slowRequests(running, [], P, 400, policy)).to.deep.equal([1]);
    expect(slowRequests([running[0]!, { ...running[0]!, index: 1 }], [], P, 400, policy)).to.deep.equal([]);
  });

  it('with nothing to compare with, only the stall limit', () => {
    expect(slowRequests([req(0, 0, 0)], [], P, 9_999, policy)).to.deep.equal([]);
    expect(slowRequests([req(0, 0, 0)], [], P, 10_000, policy)).to.deep.equal([0]);
  });

  it('updateMarks keeps the mark one to two windows back', () => {
    const r = newProgress(0, 0);
    r.bytes = 10;
    updateMarks(r, 100, 250);
    expect(r.mark).to.deep.equal({ at: 0, bytes: 0 });
    updateMarks(r, 250, 250);
    expect([r.mark, r.next]).to.deep.equal([{ at: 0, bytes: 0 }, { at: 250, bytes: 10 }]);
    r.bytes = 30;
    updateMarks(r, 400, 250);
    expect(r.mark.at).to.equal(0);
    updateMarks(r, 500, 250);
    expect([r.mark, r.next]).to.deep.equal([{ at: 250, bytes: 10 }, { at: 500, bytes: 30 }]);
  });
});
