// Numbers as people read them.
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function bytes(n) {
  if (n === null || n === undefined) return '–';
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${UNITS[i]}`;
}

export function rate(bytesPerSecond) {
  return `${bytes(Math.round(bytesPerSecond))}/s`;
}

export function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} days`;
}

// Written out by hand, not with Intl: the first Intl.DateTimeFormat of a page loads the locale's
// data, which cost the overview 60-200 ms of its first render (bench:ui's profile); restic and
// the CLI print times this way too.
const two = (n) => String(n).padStart(2, '0');

/** Local time to the second: 2026-12-03 17:57:32. */
export function time(ms) {
  if (!ms) return 'never';
  const d = new Date(ms);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** A time for a chart's axis: day and time, no year (12-03 17:57). */
export function shortTime(ms) {
  const d = new Date(ms);
  return `${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

export function ago(ms, now = Date.now()) {
  if (!ms) return 'never';
  return `${duration(Math.max(0, now - ms))} ago`;
}

/** A key as groups of four hex digits (the first 16 digits: enough to tell peers apart). */
export function fingerprint(hex) {
  return (hex ?? '').slice(0, 16).match(/.{1,4}/g)?.join(' ') ?? '';
}

export const short = (hex) => (hex ?? '').slice(0, 8);
