import { expect } from 'chai';
import { parseKeepDuration, utcCalendar } from '../src/retention/calendar.js';
import { RetentionError } from '../src/retention/errors.js';
import { planForget } from '../src/retention/forget-plan.js';
import { applyPolicy, describePolicy, type PolicySnapshot, type RetentionPolicy } from '../src/retention/policy.js';

const H = 3_600_000;
const at = (iso: string) => Date.parse(iso.endsWith('Z') ? iso : `${iso}Z`);
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16);
const snap = (when: string, tags?: string[], source = '/src'): PolicySnapshot => ({ id: `s-${when}`, createdAt: at(when), source, ...(tags ? { tags } : {}) });

/** Applies a policy with now = 2030 (after everything) unless told, in UTC; returns kept times → reasons. */
function kept(list: PolicySnapshot[], policy: RetentionPolicy, now = at('2030-01-01T00:00')): Record<string, string[]> {
  const r = applyPolicy(list, policy, { now, calendar: utcCalendar });
  expect(r.keep.length + r.remove.length).to.equal(list.length);
  return Object.fromEntries(r.keep.map((k) => [iso(k.snapshot.createdAt), k.reasons]));
}

describe('retention: restic forget policy', function () {
  this.timeout(10_000);

  // Six snapshots over five days (UTC), given out of order: the policy sorts them.
  const days = ['2026-01-01T07:00', '2026-01-05T08:00', '2026-01-03T10:00', '2026-01-05T12:00', '2026-01-04T20:00', '2026-01-01T09:00'].map((t) => snap(t));

  it('keep-last N keeps the N newest; more than there are keeps all, none "oldest"', () => {
    expect(kept(days, { last: 2 })).to.deep.equal({ '2026-01-05T12:00': ['last snapshot'], '2026-01-05T08:00': ['last snapshot'] });
    expect(Object.keys(kept(days, { last: 10 }))).to.have.length(6);
    expect(Object.values(kept(days, { last: 10 })).flat()).to.not.include('oldest last snapshot');
  });

  it('keep-daily keeps the newest of each day; with count left, also the oldest snapshot', () => {
    expect(kept(days, { daily: 3 })).to.deep.equal({
      '2026-01-05T12:00': ['daily snapshot'], '2026-01-04T20:00': ['daily snapshot'], '2026-01-03T10:00': ['daily snapshot'],
    });
    expect(kept(days, { daily: 5 })).to.deep.equal({
      '2026-01-05T12:00': ['daily snapshot'], '2026-01-04T20:00': ['daily snapshot'], '2026-01-03T10:00': ['daily snapshot'],
      '2026-01-01T09:00': ['daily snapshot'], '2026-01-01T07:00': ['oldest daily snapshot'],
    });
    // unlimited (restic's -1) behaves as a count that never runs out, oldest included
    expect(kept(days, { daily: Infinity })).to.deep.equal(kept(days, { daily: 5 }));
  });

  it('keep-weekly counts ISO weeks across a year boundary (2020 has a week 53)', () => {
    const list = ['2020-12-31T10:00', '2021-01-03T10:00', '2021-01-04T10:00'].map((t) => snap(t)); // Thu W53, Sun W53, Mon 2021-W01
    expect(kept(list, { weekly: 2 })).to.deep.equal({ '2021-01-04T10:00': ['weekly snapshot'], '2021-01-03T10:00': ['weekly snapshot'] });
    expect(kept(list, { weekly: 3 })).to.have.property('2020-12-31T10:00').that.deep.equals(['oldest weekly snapshot']);
  });

  it('hourly snapshots over two years: hourly 24, daily 7, weekly 4, monthly 12, yearly 3 keeps 45, hand-counted', () => {
    const list: PolicySnapshot[] = [];
    for (let t = at('2024-01-01T00:00'); t < at('2026-01-01T00:00'); t += H) list.push({ id: `h${t}`, createdAt: t, source: '/src' });
    expect(list).to.have.length((366 + 365) * 24);
    const k = kept(list, { hourly: 24, daily: 7, weekly: 4, monthly: 12, yearly: 3 }, at('2026-01-01T00:00'));
    // 24 hours of 31 Dec; 25..30 Dec (23:00); weekly adds Sun 21 and Sun 14 Dec (28 Dec is a daily, 31 Dec is in 2026-W01);
    // monthly adds the last hour of Jan..Nov 2025; yearly adds 31 Dec 2024 and, count left, the oldest snapshot.
    const expected = [
      ...Array.from({ length: 24 }, (_, h) => `2025-12-31T${String(h).padStart(2, '0')}:00`),
      ...[25, 26, 27, 28, 29, 30].map((d) => `2025-12-${d}T23:00`),
      '2025-12-21T23:00', '2025-12-14T23:00',
      ...['01-31', '02-28', '03-31', '04-30', '05-31', '06-30', '07-31', '08-31', '09-30', '10-31', '11-30'].map((d) => `2025-${d}T23:00`),
      '2024-12-31T23:00', '2024-01-01T00:00',
    ];
    expect(Object.keys(k).sort()).to.deep.equal(expected.sort());
    expect(k['2025-12-31T23:00']).to.deep.equal(['hourly snapshot', 'daily snapshot', 'weekly snapshot', 'monthly snapshot', 'yearly snapshot']);
    expect(k['2025-12-28T23:00']).to.deep.equal(['daily snapshot', 'weekly snapshot']);
    expect(k['2025-02-28T23:00']).to.deep.equal(['monthly snapshot']);
    expect(k['2024-01-01T00:00']).to.deep.equal(['oldest yearly snapshot']);
  });

  it('keep-within is relative to the newest snapshot not in the future, and strictly newer', () => {
    const now = at('2026-06-10T12:00');
    const list = [snap('2026-06-10T11:00'), snap('2026-06-09T10:00'), snap('2026-06-08T11:00'), snap('2026-06-08T10:00'), snap('2026-06-10T17:00')];
    // latest = 06-10 11:00 (17:00 is after now); window starts 06-08 11:00, exclusive
    expect(kept(list, { within: parseKeepDuration('2d') }, now)).to.deep.equal({
      '2026-06-10T17:00': ['within 2d'], '2026-06-10T11:00': ['within 2d'], '2026-06-09T10:00': ['within 2d'],
    });
  });

  it('keep-within months overflow as Go\'s AddDate: 31 March minus 1 month is 3 March', () => {
    const list = [snap('2025-03-31T12:00'), snap('2025-03-03T13:00'), snap('2025-03-03T12:00'), snap('2025-02-28T12:00')];
    expect(Object.keys(kept(list, { within: parseKeepDuration('1m') }))).to.deep.equal(['2025-03-31T12:00', '2025-03-03T13:00']);
    expect(Object.keys(kept(list, { within: parseKeepDuration('1m1h') }))).to.deep.equal(['2025-03-31T12:00', '2025-03-03T13:00', '2025-03-03T12:00']);
  });

  it('keep-within-daily keeps one per day inside the window only', () => {
    const list: PolicySnapshot[] = [];
    for (let t = at('2026-02-01T00:00'); t <= at('2026-02-05T18:00'); t += 6 * H) list.push(snap(iso(t)));
    expect(kept(list, { withinDaily: parseKeepDuration('3d') })).to.deep.equal({
      '2026-02-05T18:00': ['daily within 3d'], '2026-02-04T18:00': ['daily within 3d'], '2026-02-03T18:00': ['daily within 3d'],
    });
    // a window reaching the oldest snapshot keeps it as "oldest"
    expect(kept(list, { withinDaily: parseKeepDuration('10d') })['2026-02-01T00:00']).to.deep.equal(['oldest daily within 10d']);
  });

  it('keep-tag: every tag of one list must be present; any list matching keeps', () => {
    const list = [snap('2026-01-01T01:00', ['a', 'x']), snap('2026-01-01T02:00', ['b']), snap('2026-01-01T03:00', ['c', 'b']), snap('2026-01-01T04:00')];
    expect(kept(list, { tags: [['a'], ['b', 'c']] })).to.deep.equal({ '2026-01-01T03:00': ['has tags [b,c]'], '2026-01-01T01:00': ['has tags [a]'] });
  });

  it('combinations: every matching rule is a reason, counters run independently', () => {
    const list = [snap('2026-01-05T12:00', ['keep']), ...days.filter((s) => s.createdAt !== at('2026-01-05T12:00'))];
    expect(kept(list, { last: 2, daily: 2, tags: [['keep']], within: parseKeepDuration('1d') })).to.deep.equal({
      '2026-01-05T12:00': ['has tags [keep]', 'within 1d', 'last snapshot', 'daily snapshot'],
      '2026-01-05T08:00': ['within 1d', 'last snapshot'],
      '2026-01-04T20:00': ['within 1d', 'daily snapshot'],
    });
    expect(describePolicy({ last: 2, daily: Infinity, withinWeekly: parseKeepDuration('1m'), tags: [['a', 'b']], within: parseKeepDuration('1y') }))
      .to.equal('keep 2 latest, all daily snapshots, weekly snapshots within 1m, all snapshots with tags [a,b], all snapshots within 1y of the newest');
  });

  it('refuses bad counts and durations with typed errors', () => {
    expect(() => applyPolicy(days, { daily: -1 }, { now: 0, calendar: utcCalendar })).to.throw(RetentionError).with.property('code', 'BAD_POLICY');
    expect(() => applyPolicy(days, { last: 1.5 }, { now: 0, calendar: utcCalendar })).to.throw(RetentionError).with.property('code', 'BAD_POLICY');
    for (const bad of ['', '3x', 'm', '1.5d', '-1d']) expect(() => parseKeepDuration(bad), bad).to.throw(RangeError, /keep duration/);
    expect(parseKeepDuration('1y6m7d36h')).to.deep.equal({ years: 1, months: 6, days: 7, hours: 36 });
  });
});

describe('retention: forget plan', function () {
  this.timeout(5000);
  const ctx = { now: at('2030-01-01T00:00'), calendar: utcCalendar };
  const list = [snap('2026-01-01T01:00', [], '/a'), snap('2026-01-02T01:00', [], '/a'), snap('2026-01-03T01:00', [], '/b'), snap('2026-01-01T05:00', [], '/b')];

  it('applies the policy per source path', () => {
    const plan = planForget(list, { last: 1 }, ctx);
    expect(plan.groups.map((g) => [g.key.source, g.keep.map((k) => k.snapshot.id), g.remove.map((s) => s.id)])).to.deep.equal([
      ['/a', ['s-2026-01-02T01:00'], ['s-2026-01-01T01:00']],
      ['/b', ['s-2026-01-03T01:00'], ['s-2026-01-01T05:00']],
    ]);
    expect(plan.removeIds).to.deep.equal(['s-2026-01-01T01:00', 's-2026-01-01T05:00']);
    expect(plan.policy).to.equal('keep 1 latest snapshots');
  });

  it('groups by host when snapshots record one, and by tags when asked', () => {
    const mixed = [{ ...list[0]!, host: 'x' }, { ...list[1]!, host: 'y', tags: ['t'] }];
    expect(planForget(mixed, { last: 1 }, ctx).groups.map((g) => g.key)).to.deep.equal([{ source: '/a', host: 'x' }, { source: '/a', host: 'y' }]);
    expect(planForget(mixed, { last: 1 }, { ...ctx, groupByTags: true }).groups.map((g) => g.key.tags)).to.deep.equal([[], ['t']]);
  });

  it('named IDs remove exactly those; IDs with rules, no rules, or a policy keeping nothing are refused', () => {
    const plan = planForget(list, {}, ctx, ['s-2026-01-03T01:00']);
    expect(plan.removeIds).to.deep.equal(['s-2026-01-03T01:00']);
    expect(plan.groups[1]!.keep.map((k) => k.reasons)).to.deep.equal([['not named']]);
    const code = (f: () => unknown) => { try { f(); } catch (e) { return (e as RetentionError).code; } return 'none'; };
    expect(code(() => planForget(list, { last: 1 }, ctx, ['s-2026-01-03T01:00']))).to.equal('IDS_AND_POLICY');
    expect(code(() => planForget(list, {}, ctx))).to.equal('EMPTY_POLICY');
    expect(code(() => planForget(list, { daily: 0, within: parseKeepDuration('0d') }, ctx))).to.equal('EMPTY_POLICY');
    expect(code(() => planForget(list, { tags: [['nope']] }, ctx))).to.equal('WOULD_REMOVE_ALL');
  });
});

describe('retention: tags', function () {
  this.timeout(5000);

  it('--tag splits on commas and drops duplicates; --keep-tag keeps each value as one list', async () => {
    const { parseTags, parseTagLists } = await import('../src/retention/tags.js');
    expect(parseTags(['a,b', 'c', 'a'])).to.deep.equal(['a', 'b', 'c']);
    expect(parseTagLists(['a,b', 'c'])).to.deep.equal([['a', 'b'], ['c']]);
    for (const bad of [[''], ['a,,b'], ['x'.repeat(129)], ['bell\u0007']]) expect(() => parseTags(bad), String(bad)).to.throw(RetentionError);
  });
});

describe('retention: flags and the local calendar', function () {
  this.timeout(5000);

  it('policyFromFlags: counts, "unlimited", restic durations, tag lists; bad values name their flag', async () => {
    const { policyFromFlags } = await import('../src/retention/flags.js');
    expect(policyFromFlags({ last: '3', daily: 'unlimited', within: '1y2m', withinDaily: '7d', tag: ['a,b', 'c'] })).to.deep.equal({
      last: 3, daily: Infinity, within: { years: 1, months: 2, days: 0, hours: 0 }, withinDaily: { years: 0, months: 0, days: 7, hours: 0 }, tags: [['a', 'b'], ['c']],
    });
    expect(() => policyFromFlags({ weekly: '-1' })).to.throw(RetentionError, /^--keep-weekly takes a whole number/);
    expect(() => policyFromFlags({ withinMonthly: '3w' })).to.throw(RetentionError, /^--keep-within-monthly: "3w" is not a keep duration/);
  });

  it('the local calendar counts days in the TZ of the process (a day in Sydney is not a UTC day)', async () => {
    const { localCalendar } = await import('../src/retention/calendar.js');
    const saved = process.env.TZ;
    process.env.TZ = 'Australia/Sydney'; // UTC+11 in December (daylight saving time)
    try {
      // 20:00 and 23:00 UTC on 1 Dec are 07:00 and 10:00 on 2 Dec in Sydney: one local day, one UTC day.
      expect(localCalendar.fields(at('2026-12-01T20:00'))).to.include({ year: 2026, month: 12, day: 2, hour: 7 });
      const list = [snap('2026-12-01T10:00'), snap('2026-12-01T20:00'), snap('2026-12-01T23:00')];
      const local = applyPolicy(list, { daily: 5 }, { now: at('2030-01-01T00:00'), calendar: localCalendar });
      expect(local.keep.map((k) => [iso(k.snapshot.createdAt), k.reasons])).to.deep.equal([
        ['2026-12-01T23:00', ['daily snapshot']], ['2026-12-01T10:00', ['daily snapshot']],
      ]);
      expect(Object.keys(kept(list, { daily: 5 })), 'in UTC all three are 1 December: newest, and the oldest').to.deep.equal(['2026-12-01T23:00', '2026-12-01T10:00']);
      expect(kept(list, { daily: 5 })['2026-12-01T10:00']).to.deep.equal(['oldest daily snapshot']);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});
