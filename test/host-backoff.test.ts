import { expect } from 'chai';
import { HostBackoff } from '../src/peer/host-backoff.js';
import { backoffStatus } from '../src/peer/backoff-status.js';
import { renderBackoff } from '../src/cli/render.js';
import { toHex } from '../src/util/bytes.js';

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

  it('is shown in the status, waiting hosts first, and rendered one line per waiting host', () => {
    const backoff = new HostBackoff();
    backoff.failed(a, "the host's disk is full", 0);
    backoff.failed(b, 'connection reset', 30_000);
    backoff.failed(b, 'connection reset', 30_000);
    const at90s = backoffStatus(backoff.list(), 90_000);
    expect(at90s.map((s) => [s.host, s.waiting, s.failures])).to.deep.equal([
      [toHex(b), true, 2],
      [toHex(a), false, 1],
    ]);
    expect(at90s[0]!.until).to.equal(30_000 + 120_000);
    const lines = renderBackoff(at90s);
    expect(lines).to.have.length(1);
    expect(lines[0]).to.equal(`backoff    ${toHex(b).slice(0, 12)} not asked until 1970-01-01 00:02:30 UTC: connection reset (2 failures in a row)`);
    expect(renderBackoff(backoffStatus(backoff.list(), 200_000))).to.deep.equal(['backoff    no host held back']);
  });
});
