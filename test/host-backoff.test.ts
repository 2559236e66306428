import { expect } from 'chai';
import { HostBackoff } from '../src/peer/host-backoff.js';

const a = Uint8Array.of(1);
const b = Uint8Array.of(2);

describe('HostBackoff', () => {
  it('waits 1 min after a failure, doubling per failure in a row up to 1 h, and forgets at the first success', () => {
    const backoff = new HostBackoff();
    expect(backoff.failed(a, 'the host\'s disk is full', 0).until).to.equal(60_000);
    expect(backoff.waiting(59_999)).to.deep.equal([a]);
    expect(backoff.waiting(60_000)).to.deep.equal([]);
    expect(backoff.failed(a, 'connection reset', 60_000).until).to.equal(60_000 + 120_000);
    for (let i = 0; i < 10; i++) backoff.failed(a, 'again', 1_000_000);
    expect(backoff.list()[0]!.until).to.equal(1_000_000 + 3_600_000);
    expect(backoff.list()[0]!.reason).to.equal('again');
    backoff.succeeded(a);
    expect(backoff.list()).to.deep.equal([]);
    expect(backoff.failed(a, 'x', 0).until, 'a fresh start after a success').to.equal(60_000);
  });

  it('keeps at most maxHosts, dropping the one that failed longest ago', () => {
    const backoff = new HostBackoff({ firstMs: 10, maxMs: 100, maxHosts: 1 });
    backoff.failed(a, 'x', 0);
    backoff.failed(b, 'y', 1);
    expect(backoff.list().map((e) => e.host)).to.deep.equal([b]);
  });
});
