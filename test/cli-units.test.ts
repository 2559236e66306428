import { expect } from 'chai';
import { formatBytes, formatDuration, parseDuration, parseSize } from '../src/cli/units.js';
import { resolveSnapshot } from '../src/cli/daemon.js';
import { describeRefusals } from '../src/cli/explain.js';
import { table } from '../src/cli/render.js';
import { QuietTrigger } from '../src/backup/watcher.js';
import { TrackerRegistry } from '../src/tracker/registry.js';
import { ManualClock } from '../src/util/clock.js';

describe('cli: sizes and durations', function () {
  this.timeout(5000);

  it('parses binary, decimal and bare sizes', () => {
    expect(parseSize('4096')).to.equal(4096);
    expect(parseSize('10GiB')).to.equal(10 * 2 ** 30);
    expect(parseSize('10 gib')).to.equal(10 * 2 ** 30);
    expect(parseSize('500MB')).to.equal(500e6);
    expect(parseSize('1.5G')).to.equal(1.5 * 2 ** 30);
    expect(parseSize('256k')).to.equal(256 * 1024);
    expect(parseSize('0')).to.equal(0);
  });

  it('refuses what is not a size, with an example in the message', () => {
    for (const bad of ['', 'ten', '10XB', '-5', '1e3', '5 G B', '1..2M']) {
      expect(() => parseSize(bad), bad).to.throw(RangeError, /not a size/);
    }
    expect(() => parseSize('99999999999999T')).to.throw(RangeError, /too large/);
  });

  it('parses durations; a bare number is seconds', () => {
    expect(parseDuration('500ms')).to.equal(500);
    expect(parseDuration('10')).to.equal(10_000);
    expect(parseDuration('2m')).to.equal(120_000);
    expect(parseDuration('1.5h')).to.equal(5_400_000);
    expect(() => parseDuration('soon')).to.throw(RangeError, /not a duration/);
  });

  it('formats sizes and durations for people', () => {
    expect(formatBytes(0)).to.equal('0 B');
    expect(formatBytes(1536)).to.equal('1.5 KiB');
    expect(formatBytes(10 * 2 ** 30)).to.equal('10.0 GiB');
    expect(formatBytes(300 * 2 ** 20)).to.equal('300 MiB');
    expect(formatDuration(850)).to.equal('850 ms');
    expect(formatDuration(3400)).to.equal('3.4 s');
    expect(formatDuration(125_000)).to.equal('2 min 05 s');
    expect(formatDuration(3 * 3600_000 + 7 * 60_000)).to.equal('3 h 07 min');
  });

  it('aligns tables, numbers to the right', () => {
    expect(table(['A', 'N'], [['x', 1], ['long', 100]])).to.equal('A       N\nx       1\nlong  100');
  });
});

describe('cli: snapshot IDs and refusals', function () {
  this.timeout(5000);
  const snaps = [
    { id: '20261125T010000Z-aaaaaa', createdAt: 2, source: '/a', files: 1, bytes: 1 },
    { id: '20261125T005000Z-bbbbbb', createdAt: 1, source: '/a', files: 1, bytes: 1 },
  ];

  it('accepts a full ID, a unique prefix, any case, or latest', () => {
    expect(resolveSnapshot(snaps, 'latest').id).to.equal(snaps[0]!.id);
    expect(resolveSnapshot(snaps, '20261125T0050').id).to.equal(snaps[1]!.id);
    expect(resolveSnapshot(snaps, '20261125t010000z-aaaaaa').id).to.equal(snaps[0]!.id);
  });

  it('refuses unknown, too short and ambiguous IDs with their exit codes', () => {
    expect(() => resolveSnapshot(snaps, 'nope')).to.throw(/unknown snapshot nope/).with.property('exitCode', 4);
    expect(() => resolveSnapshot(snaps, '202')).to.throw(/unknown snapshot/).with.property('exitCode', 4);
    expect(() => resolveSnapshot(snaps, '2026')).to.throw(/ambiguous/).with.property('exitCode', 2);
    expect(() => resolveSnapshot([], 'latest')).to.throw(/no snapshots yet/).with.property('exitCode', 4);
  });

  it('explains why no host accepted, most common reason first', () => {
    const addr = { host: '127.0.0.1', port: 1 };
    const text = describeRefusals([
      { address: addr, host: null, reason: 'NO_ANSWER' },
      { address: addr, host: null, reason: 'UNBALANCED' },
      { address: addr, host: null, reason: 'UNBALANCED' },
    ]);
    expect(text).to.equal('2 peers refused: the exchange would become too one-sided (the proposer must keep data for others first); 1 peer did not answer');
    expect(describeRefusals([])).to.match(/no other peer is known yet/);
  });
});

describe('watch: quiet trigger', function () {
  this.timeout(5000);

  it('runs once after the quiet period, restarted by each change', async () => {
    const clock = new ManualClock();
    let runs = 0;
    const trigger = new QuietTrigger(clock, 1000, async () => {
      runs++;
    });
    trigger.poke();
    clock.advance(900);
    trigger.poke();
    clock.advance(900);
    expect(runs).to.equal(0);
    clock.advance(100);
    expect(runs).to.equal(1);
    await trigger.busy;
    clock.advance(5000);
    expect(runs).to.equal(1);
    trigger.close();
  });

  it('never runs twice at once; changes during a run lead to exactly one more run', async () => {
    const clock = new ManualClock();
    let running = 0;
    let most = 0;
    let runs = 0;
    let release!: () => void;
    const trigger = new QuietTrigger(clock, 100, async () => {
      runs++;
      most = Math.max(most, ++running);
      await new Promise<void>((r) => (release = r));
      running--;
    });
    trigger.poke();
    clock.advance(100);
    expect(runs).to.equal(1);
    trigger.poke();
    trigger.poke();
    clock.advance(1000);
    expect(runs).to.equal(1);
    const first = trigger.busy;
    release();
    await first;
    clock.advance(100);
    expect(runs).to.equal(2);
    release();
    await trigger.busy;
    clock.advance(1000);
    expect(runs).to.equal(2);
    expect(most).to.equal(1);
    trigger.close();
  });
});

describe('tracker: registry', function () {
  this.timeout(5000);

  it('lists live nodes newest first, expires silent ones, and stays bounded', () => {
    const clock = new ManualClock();
    const reg = new TrackerRegistry(clock, { ttlMs: 1000, maxNodes: 3, maxListed: 2 });
    reg.subscribe('a', '1.1.1.1:1');
    clock.advance(10);
    reg.subscribe('b', '1.1.1.1:2');
    clock.advance(10);
    reg.subscribe('c', '1.1.1.1:3');
    expect(reg.nodes().map((n) => n.nodeId)).to.deep.equal(['c', 'b']);
    expect(reg.nodes('c').map((n) => n.nodeId)).to.deep.equal(['b', 'a']);
    reg.subscribe('d', '1.1.1.1:4');
    expect(reg.size).to.equal(3);
    expect(reg.ping('a')).to.equal(false);
    clock.advance(975);
    expect(reg.ping('b')).to.equal(true);
    clock.advance(30);
    expect(reg.nodes().map((n) => n.nodeId)).to.deep.equal(['b']);
  });
});
