/**
 * The pure NAT logic: our external address from other peers' observations (one vote per network
 * prefix, never one peer's word alone) and reachability from dial-back results.
 */
import { expect } from 'chai';
import { AddressSampler } from '../src/nat/address-sampler.js';
import { ReachabilityTracker } from '../src/nat/reachability.js';

const WAN = { host: '203.0.113.7', port: 7001 };
const MIN = 60_000;

describe('AddressSampler: our external address, agreed by several network prefixes', () => {
  it('takes an address only when three prefixes agree', () => {
    const s = new AddressSampler();
    s.add(WAN, '198.51.100.0/24', 0);
    s.add(WAN, '192.0.2.0/24', 1);
    expect(s.verdict(2)).to.deep.include({ address: null, mapping: 'unknown' });
    s.add(WAN, '2001:db8:1::/48', 2);
    expect(s.verdict(3)).to.deep.equal({ address: WAN, host: WAN.host, mapping: 'consistent', agreeing: 3 });
  });

  it('counts a prefix once, however many of its peers (or one liar) report', () => {
    const s = new AddressSampler();
    for (let i = 0; i < 10; i++) s.add({ host: '6.6.6.6', port: 1 }, '198.51.100.0/24', i);
    s.add(WAN, '192.0.2.0/24', 20);
    expect(s.verdict(21).address).to.equal(null);
    expect(s.count(21)).to.equal(2);
  });

  it('a prefix changing its word replaces its earlier vote', () => {
    const s = new AddressSampler();
    for (const p of ['a', 'b', 'c']) s.add(WAN, p, 0);
    s.add({ host: WAN.host, port: 9999 }, 'c', 1);
    expect(s.verdict(2)).to.deep.include({ address: null });
    s.add(WAN, 'd', 3);
    expect(s.verdict(4).address).to.deep.equal(WAN);
  });

  it('outvotes a minority of liars', () => {
    const s = new AddressSampler();
    s.add({ host: '6.6.6.6', port: 1 }, 'evil1', 0);
    s.add({ host: '6.6.6.6', port: 1 }, 'evil2', 0);
    for (const p of ['a', 'b', 'c']) s.add(WAN, p, 1);
    expect(s.verdict(2).address).to.deep.equal(WAN);
  });

  it('recognises a symmetric NAT: same host, a new port for each reporter', () => {
    const s = new AddressSampler();
    [40001, 51234, 33333, 61000].forEach((port, i) => s.add({ host: WAN.host, port }, `p${i}`, i));
    expect(s.verdict(10)).to.deep.equal({ address: null, host: WAN.host, mapping: 'random', agreeing: 4 });
  });

  it('lets samples expire, and forgets everything on clear', () => {
    const s = new AddressSampler({ sampleTtlMs: 30 * MIN });
    for (const p of ['a', 'b', 'c']) s.add(WAN, p, 0);
    expect(s.verdict(29 * MIN).address).to.deep.equal(WAN);
    expect(s.verdict(30 * MIN).address).to.equal(null);
    for (const p of ['a', 'b', 'c']) s.add(WAN, p, 31 * MIN);
    s.clear();
    expect(s.count(31 * MIN)).to.equal(0);
  });

  it('remembers a bounded number of prefixes, dropping the oldest', () => {
    const s = new AddressSampler({ maxReporters: 4 });
    for (const p of ['a', 'b', 'c']) s.add(WAN, p, 0);
    for (const p of ['x', 'y']) s.add({ host: '6.6.6.6', port: 1 }, p, 1);
    expect(s.count(2)).to.equal(4);
    expect(s.verdict(2).address).to.equal(null); // 'a' was dropped: two votes left for WAN
  });
});

describe('ReachabilityTracker: can strangers reach us, from dial-backs', () => {
  it('needs two prober prefixes to say reachable', () => {
    const r = new ReachabilityTracker();
    expect(r.get('udp', 0)).to.equal('unknown');
    r.record('udp', 'a', true, 0);
    expect(r.get('udp', 1)).to.equal('unknown');
    expect(r.needed('udp', 1)).to.equal(1);
    r.record('udp', 'b', true, 1);
    expect(r.get('udp', 2)).to.equal('reachable');
    expect(r.needed('udp', 2)).to.equal(0);
    expect(r.get('tcp', 2)).to.equal('unknown');
  });

  it('says unreachable only when several tried and nobody got through', () => {
    const r = new ReachabilityTracker();
    r.record('tcp', 'a', false, 0);
    r.record('tcp', 'b', false, 0);
    expect(r.get('tcp', 1)).to.equal('unreachable');
    r.record('tcp', 'c', true, 2);
    expect(r.get('tcp', 3)).to.equal('unknown');
  });

  it('counts one result per prefix and lets results expire', () => {
    const r = new ReachabilityTracker({ resultTtlMs: 60 * MIN });
    r.record('udp', 'a', true, 0);
    r.record('udp', 'a', true, 1);
    expect(r.get('udp', 2)).to.equal('unknown');
    r.record('udp', 'b', true, 2);
    expect(r.get('udp', 3)).to.equal('reachable');
    expect(r.get('udp', 61 * MIN)).to.equal('unknown');
  });
});
