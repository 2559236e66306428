/**
 * Helpers shared by the benchmarks: command-line flags, a seeded random source, statistics,
 * exactness against the true closest nodes, figures of other processes (/proc), small shell
 * commands, tables, and the section of docs/benchmarks.md each benchmark owns.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { compareDistance, toHex } from '../src/index.js';

// --- command line ----------------------------------------------------------------------

/** `--name value`, `--name=value` and bare `--flag` (true). Positional arguments are refused. */
export function parseFlags(argv: string[], known: string[]): Map<string, string | true> {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m || !known.includes(m[1]!)) throw new Error(`unknown argument "${arg}" (known: ${known.map((k) => `--${k}`).join(' ')})`);
    const next = argv[i + 1];
    if (m[2] !== undefined) flags.set(m[1]!, m[2]);
    else if (next !== undefined && !next.startsWith('--')) flags.set(m[1]!, argv[++i]!);
    else flags.set(m[1]!, true);
  }
  return flags;
}

export function intFlag(flags: Map<string, string | true>, name: string, fallback: number): number {
  const v = flags.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v === true || !Number.isInteger(n) || n < 0) throw new Error(`--${name} needs a non-negative integer`);
  return n;
}

/** The command as it was typed, for the docs (paths relative to the working directory). */
export function commandLine(): string {
  const script = path.relative(process.cwd(), process.argv[1]!);
  return ['node', ...process.execArgv, script, ...process.argv.slice(2)].join(' ');
}

// --- randomness --------------------------------------------------------------------------

/**
 * mulberry32: a tiny seeded generator, so that targets and querying nodes are the same
 * from one run to the next (and for both implementations in the UDP comparison).
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomId(random: () => number): Uint8Array {
  const id = new Uint8Array(20);
  for (let i = 0; i < id.length; i++) id[i] = Math.floor(random() * 256);
  return id;
}

export function randomIndex(random: () => number, n: number): number {
  return Math.floor(random() * n);
}

/** One lookup of the workload: who asks, and for what. */
export interface LookupTask {
  from: number;
  target: Uint8Array;
}

export function makeTasks(random: () => number, count: number, nodes: number): LookupTask[] {
  return Array.from({ length: count }, () => ({ from: randomIndex(random, nodes), target: randomId(random) }));
}

// --- exactness -----------------------------------------------------------------------------

/** Hex IDs of the `k` nodes closest to `target` among `ids`, leaving out `ids[except]`. */
export function trueClosest(ids: Uint8Array[], target: Uint8Array, k: number, except: number): Set<string> {
  const others = ids.filter((_, i) => i !== except);
  others.sort((a, b) => compareDistance(target, a, b));
  return new Set(others.slice(0, k).map(toHex));
}

/** How many of the true closest a lookup returned, as a fraction (1 = all of them). */
export function recall(returned: Uint8Array[], truth: Set<string>): number {
  let hits = 0;
  for (const id of returned) if (truth.has(toHex(id))) hits++;
  return truth.size === 0 ? 1 : hits / truth.size;
}

// --- statistics ----------------------------------------------------------------------------

/** Nearest-rank quantile (q in 0..1) of unsorted values. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

export const median = (values: number[]) => quantile(values, 0.5);
export const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;
export const max = (values: number[]) => values.reduce((m, v) => Math.max(m, v), -Infinity);

// --- memory ----------------------------------------------------------------------------------

/**
 * A full garbage collection before reading memory figures, so they do not depend on when
 * V8 last collected. `gc` is exposed at run time so that `npm run` needs no node flags.
 */
export const collectGarbage: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

// --- other processes (Linux /proc) ---------------------------------------------------------

/** Resets the kernel's peak-RSS mark (VmHWM) of `pid` (Linux 4.0 and later); false where it cannot. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** A figure of /proc/PID/status in KiB (VmRSS, VmHWM, RssAnon, ...); NaN without /proc. */
export function statusKiB(pid: number, key: string): number {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    // No /proc (not Linux) or the process is gone: NaN is the documented answer.
    return NaN;
  }
}

/** Peak RSS of `pid` since it started or since the last reset, in bytes (NaN without /proc). */
export function peakRssBytes(pid: number): number {
  return statusKiB(pid, 'VmHWM') * 1024;
}

let clockTicks: number | undefined;

/** CPU time `pid` has used so far, in seconds, split into user and system (NaN without /proc). */
export function cpuTimesOf(pid: number): { user: number; system: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (clockTicks === undefined) {
      try {
        clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
      } catch {
        clockTicks = 100;
      }
    }
    return { user: Number(fields[11]) / clockTicks, system: Number(fields[12]) / clockTicks };
  } catch {
    return { user: NaN, system: NaN };
  }
}

/** CPU time (user + system) `pid` has used so far, in seconds (NaN without /proc). */
export function cpuSecondsOf(pid: number): number {
  const t = cpuTimesOf(pid);
  return t.user + t.system;
}

// --- commands ------------------------------------------------------------------------------------

/** Runs `cmd args` with no output; whether it exited 0 (a missing command is false too). */
export function commandSucceeds(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    // The answer is the point: a failure is `false`, and the caller decides what it means.
    return false;
  }
}

/** The type of the filesystem `dir` is on (`ext2/ext3`, `tmpfs`, ...), for the report. */
export function filesystemOf(dir: string): string {
  try {
    return execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
  } catch {
    // Only a label in the report: say so rather than fail the run.
    return 'unknown filesystem';
  }
}

/**
 * On Ctrl-C or SIGTERM: `cleanUp` (kill the children, remove the temp dir that holds GiBs), then
 * exit with 130, the shell's code for an interrupted command.
 */
export function cleanUpOnSignal(cleanUp: () => void, message?: string): void {
  const onSignal = () => {
    if (message) console.error(message);
    cleanUp();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

// --- output --------------------------------------------------------------------------------

export type Cell = string | number;

/** A Markdown table: readable in a terminal and in docs/benchmarks.md alike. */
export function markdownTable(header: string[], rows: Cell[][]): string {
  const text = rows.map((r) => r.map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...text.map(line)].join('\n');
}

export function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

export function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

export function megabytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** Date, Node version, CPU and cores: the context a figure means nothing without. */
export function machineLines(): string[] {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1]!.trim();
  } catch {
    // Not Linux: os.cpus() is the best we have.
  }
  return [
    `- Date: ${new Date().toISOString().slice(0, 10)}`,
    `- Node: ${process.version}`,
    `- CPU: ${cpu}, ${cpus().length} cores`,
    `- Command: \`${commandLine()}\``,
  ];
}

const DOC = 'docs/benchmarks.md';
const DOC_HEADER = `# Benchmarks

Figures produced by the scripts in \`bench/\`. Each script rewrites only its own section
when run with \`--write\`; run them on a quiet machine (nothing else using the CPU).
`;

/**
 * Replaces the section whose heading is `## ${name}...` in docs/benchmarks.md (appends it
 * if absent, creates the file if missing). A section runs until the next `## ` heading.
 */
export function writeSection(name: string, section: string): void {
  const file = path.resolve(DOC);
  const doc = existsSync(file) ? readFileSync(file, 'utf8') : DOC_HEADER;
  const lines = doc.split('\n');
  const isOurs = (l: string) => l === `## ${name}` || l.startsWith(`## ${name} `) || l.startsWith(`## ${name}:`);
  const start = lines.findIndex(isOurs);
  const body = section.trimEnd().split('\n');
  let out: string[];
  if (start < 0) {
    out = [...trimTrailingBlank(lines), '', ...body, ''];
  } else {
    let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
    if (end < 0) end = lines.length;
    const after = lines.slice(end);
    out = [...lines.slice(0, start), ...body, ...(after.length > 0 ? ['', ...after] : [''])];
  }
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, out.join('\n'));
  console.log(`wrote section "## ${name}" of ${DOC}`);
}

function trimTrailingBlank(lines: string[]): string[] {
  const out = [...lines];
  while (out.length > 0 && out[out.length - 1]!.trim() === '') out.pop();
  return out;
}
