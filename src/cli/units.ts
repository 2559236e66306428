/**
 * Sizes and durations as people type and read them: "10GiB", "500 MB", "1.5G" in, "1.2 GiB",
 * "3.4 s", "2 min 05 s" out. Binary prefixes (KiB, MiB...) are powers of 1024; decimal ones
 * (kB, MB...) are powers of 1000, as `df -H` and disk vendors use them; a bare letter (K, M, G)
 * means the binary unit, as in `dd` and restic.
 */

const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 2 ** 10, ki: 2 ** 10, kib: 2 ** 10, kb: 1e3,
  m: 2 ** 20, mi: 2 ** 20, mib: 2 ** 20, mb: 1e6,
  g: 2 ** 30, gi: 2 ** 30, gib: 2 ** 30, gb: 1e9,
  t: 2 ** 40, ti: 2 ** 40, tib: 2 ** 40, tb: 1e12,
};

/** Parses a size such as `10GiB`, `500MB`, `1.5 G` or `4096` into a whole number of bytes. */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new RangeError(`"${text}" is not a size (examples: 4096, 500MB, 10GiB, 1.5T)`);
  }
  const bytes = Math.round(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`"${text}" is too large`);
  return bytes;
}

/** 1536 → "1.5 KiB"; whole bytes below 1 KiB. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = Math.abs(bytes);
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  const sign = bytes < 0 ? '-' : '';
  if (i === 0) return `${sign}${value} B`;
  return `${sign}${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[i]}`;
}

/** Milliseconds → "850 ms", "3.4 s", "2 min 05 s", "3 h 07 min", "2 d 4 h". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const totalS = Math.round(s);
  if (totalS < 3600) return `${Math.floor(totalS / 60)} min ${String(totalS % 60).padStart(2, '0')} s`;
  const totalMin = Math.round(totalS / 60);
  if (totalMin < 24 * 60) return `${Math.floor(totalMin / 60)} h ${String(totalMin % 60).padStart(2, '0')} min`;
  const totalH = Math.round(totalMin / 60);
  return `${Math.floor(totalH / 24)} d ${totalH % 24} h`;
}

/** Bytes over milliseconds → "12.3 MiB/s". */
export function formatRate(bytes: number, ms: number): string {
  if (ms <= 0) return '-';
  return `${formatBytes((bytes * 1000) / ms)}/s`;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "500ms", "10s", "2m", "1.5h", "1d" (a bare number is seconds) into milliseconds. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = match ? (match[2] === '' ? 1000 : DURATION_UNITS[match[2]!.toLowerCase()]) : undefined;
  if (!match || unit === undefined) throw new RangeError(`"${text}" is not a duration (examples: 500ms, 10s, 2m, 1h)`);
  return Math.round(Number(match[1]) * unit);
}
