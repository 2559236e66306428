/**
 * The calendar the time-bucket rules count in: which hour, day, ISO week, month and year a
 * snapshot falls in, and "this time minus N years, months, days, hours" for `--keep-within`.
 * Injected so the rules stay pure and tests fix the time zone; `utcCalendar` for tests and
 * machines, `localCalendar` for people (a "daily" snapshot is one per day of *their* days).
 */

/** Calendar fields of an instant. `week` is the ISO 8601 week, `weekYear` the year it belongs to. */
export interface CalendarFields {
  year: number;
  /** 1..12 */
  month: number;
  day: number;
  hour: number;
  weekYear: number;
  week: number;
}

/** restic's `--keep-within` duration: whole years, months, days, hours (`1y5m7d2h`). */
export interface KeepDuration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

export interface Calendar {
  fields(ms: number): CalendarFields;
  /**
   * `ms` minus `d`, calendar-wise: months and years keep the day of month and overflow the way
   * Go's AddDate does (31 March minus 1 month is 3 March, not 28 February), hours are exact.
   */
  minus(ms: number, d: KeepDuration): number;
}

/** ISO week: the week with the year's first Thursday is week 1; weeks start on Monday. */
function isoWeek(year: number, month: number, day: number): { weekYear: number; week: number } {
  // Pure date arithmetic on a UTC date, whatever zone the fields came from.
  const date = new Date(Date.UTC(year, month - 1, day));
  const weekday = (date.getUTCDay() + 6) % 7; // Monday 0 .. Sunday 6
  date.setUTCDate(date.getUTCDate() - weekday + 3); // the Thursday of this week decides the year
  const weekYear = date.getUTCFullYear();
  const firstThursday = new Date(Date.UTC(weekYear, 0, 4));
  firstThursday.setUTCDate(firstThursday.getUTCDate() - ((firstThursday.getUTCDay() + 6) % 7) + 3);
  return { weekYear, week: 1 + Math.round((date.getTime() - firstThursday.getTime()) / (7 * 86_400_000)) };
}

/** An instant as one time zone reads it: year, month (0..11), day, hours, minutes, seconds, milliseconds. */
type DateParts = [number, number, number, number, number, number, number];

/**
 * The calendar of one time zone, from how the zone splits an instant into parts and how it puts
 * parts back together (normalizing overflowing days and months exactly as Go's AddDate).
 */
function zoneCalendar(split: (d: Date) => DateParts, join: (...parts: DateParts) => number): Calendar {
  return {
    fields(ms) {
      const [year, month0, day, hour] = split(new Date(ms));
      return { year, month: month0 + 1, day, hour, ...isoWeek(year, month0 + 1, day) };
    },
    minus(ms, d) {
      const [year, month0, day, ...time] = split(new Date(ms));
      return join(year - d.years, month0 - d.months, day - d.days, ...time) - d.hours * 3_600_000;
    },
  };
}

export const utcCalendar: Calendar = zoneCalendar(
  (d) => [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()],
  (...parts) => Date.UTC(...parts),
);

/** The machine's time zone (TZ), as `new Date()` sees it. */
export const localCalendar: Calendar = zoneCalendar(
  (d) => [d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()],
  (...parts) => new Date(...parts).getTime(),
);

/**
 * Parses restic's duration syntax: numbers each followed by `y`, `m` (months), `d` or `h`,
 * e.g. `1y6m`, `7d`, `36h`. Not `dbs`'s other durations (there `m` is minutes): `--keep-within`
 * keeps restic's meaning so users' habits carry over.
 */
export function parseKeepDuration(text: string): KeepDuration {
  const d: KeepDuration = { years: 0, months: 0, days: 0, hours: 0 };
  const s = text.trim();
  if (!/^(\d+[ymdh])+$/.test(s)) {
    throw new RangeError(`"${text}" is not a keep duration: numbers with y (years), m (months), d (days), h (hours), e.g. 1y6m or 36h`);
  }
  for (const [, n, unit] of s.matchAll(/(\d+)([ymdh])/g)) {
    const value = Number(n);
    if (!Number.isSafeInteger(value)) throw new RangeError(`"${text}": ${n} is too large`);
    d[({ y: 'years', m: 'months', d: 'days', h: 'hours' } as const)[unit as 'y' | 'm' | 'd' | 'h']] += value;
  }
  return d;
}

/** `1y6m`, as restic prints it; `0h` for an empty duration. */
export function formatKeepDuration(d: KeepDuration): string {
  const s = `${d.years ? `${d.years}y` : ''}${d.months ? `${d.months}m` : ''}${d.days ? `${d.days}d` : ''}${d.hours ? `${d.hours}h` : ''}`;
  return s || '0h';
}

export function isZeroDuration(d: KeepDuration | undefined): boolean {
  return !d || (d.years === 0 && d.months === 0 && d.days === 0 && d.hours === 0);
}
