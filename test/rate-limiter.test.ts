/** The rate limiter, pure: per-source buckets and the overall budget shared per network prefix. */
import { expect } from 'chai';
import { prefixKey, sourceKey } from '../src/util/ip.js';
import { ManualClock } from '../src/util/clock.js';
import { RateLimiter } from '../src/util/rate-limiter.js';

const LIMIT = { perSecond: 100, burst: 200 };

/** Runs `seconds` of traffic in 10 ms ticks; returns how many requests of each sender were let through. */
function simulate(limiter: RateLimiter, clock: ManualClock, senders: { source: string; perTick: number }[], seconds: number): number[] {
  const passed = senders.map(() => 0);
  for (let tick = 0; tick < seconds * 100; tick++) {
    clock.advance(10);
    // Interleaved: every sender's n-th request of the tick before anyone's (n+1)-th.
    const most = Math.max(...senders.map((s) => Math.ceil(s.perTick)));
    for (let n = 0; n < most; n++) {
      senders.forEach((s, i) => {
        const due = s.perTick >= 1 ? n < s.perTick : n === 0 && tick % Math.round(1 / s.perTick) === 0;
        if (due && limiter.take(s.source)) passed[i]!++;
      });
    }
  }
  return passed;
}

describe('rate limiter (pure)', function () {
  this.timeout(10_000);

  it('keys prefixes as IPv4 /24 and IPv6 /48, from addresses or source keys', () => {
    expect(prefixKey('10.1.2.3')).to.equal('10.1.2.0/24');
    expect(prefixKey('::ffff:10.1.2.3')).to.equal('10.1.2.0/24');
    expect(prefixKey('2001:db8:aa:bb::1')).to.equal('2001:db8:aa::/48');
    expect(prefixKey(sourceKey('2001:db8:aa:bb::1'))).to.equal('2001:db8:aa::/48');
    expect(prefixKey(sourceKey('2001:db8:ab:bb::1'))).to.not.equal(prefixKey('2001:db8:aa:bb::1'));
  });

  it('limits one source to its burst, then its sustained rate', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter(LIMIT, clock);
    let ok = 0;
    for (let i = 0; i < 500; i++) if (limiter.take('10.0.0.1')) ok++;
    expect(ok).to.equal(200);
    clock.advance(1000);
    ok = 0;
    for (let i = 0; i < 500; i++) if (limiter.take('10.0.0.1')) ok++;
    expect(ok).to.equal(100);
  });

  it('answers an honest peer in full while 60 addresses of one /24 flood at 3x their rate', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter(LIMIT, clock);
    const flood = Array.from({ length: 60 }, (_, i) => ({ source: `10.9.9.${i + 1}`, perTick: 3 }));
    const honest = { source: '192.0.2.7', perTick: 0.1 };
    const passed = simulate(limiter, clock, [...flood, honest], 5);
    expect(passed.at(-1)).to.equal(50);
    // The flood gets at most the overall budget (2,000/s) plus its burst.
    const flooded = passed.slice(0, -1).reduce((a, b) => a + b, 0);
    expect(flooded).to.be.at.most(2000 * 5 + 4000);
  });

  it('shares among many prefixes: 30 flooding /24s still leave an honest /24 its share', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter(LIMIT, clock);
    const flood = Array.from({ length: 150 }, (_, i) => ({ source: `10.${Math.floor(i / 5)}.0.${(i % 5) + 1}`, perTick: 2 }));
    // 20 requests/s: above what one honest DHT peer sends, below the share of one of 31 prefixes (~64/s).
    const honest = { source: '192.0.2.7', perTick: 0.2 };
    const passed = simulate(limiter, clock, [...flood, honest], 5);
    expect(passed.at(-1)).to.equal(100);
    expect(limiter.activePrefixes).to.equal(31);
  });

  it('forgets quiet prefixes, so a lone peer gets the whole budget again', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter(LIMIT, clock);
    for (let i = 0; i < 20; i++) limiter.take(`10.${i}.0.1`);
    expect(limiter.activePrefixes).to.equal(20);
    clock.advance(11_000);
    limiter.take('192.0.2.7');
    expect(limiter.activePrefixes).to.equal(1);
    expect(limiter.share().perSecond).to.equal(2000);
  });

  it('keeps its tables bounded under a flood of forged sources and prefixes', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter(LIMIT, clock, 1000);
    for (let i = 0; i < 50_000; i++) limiter.take(`${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}.1`);
    expect(limiter.trackedSources).to.be.at.most(1000);
    expect(limiter.activePrefixes).to.be.at.most(1000);
  });
});
