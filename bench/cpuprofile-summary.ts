/**
 * Where a process spent its CPU time, from a V8 profile written by `node --cpu-prof`:
 *
 *   node dist/bench/cpuprofile-summary.js FILE.cpuprofile [--top 25] [--from S] [--to S] [--timeline]
 *
 * Prints self time by function (with file and line) and by file, as shares of the samples,
 * optionally only between --from and --to (seconds after the profile started). --timeline
 * prints, for every second, how busy the main thread was and its top function.
 * Used with `bench/backup.ts --cpu-prof DIR` to see what dominates the owner's time.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { intFlag, markdownTable, parseFlags } from './common.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const file = process.argv[2];
if (!file || file.startsWith('--')) throw new Error('usage: cpuprofile-summary.js FILE.cpuprofile [--top N]');
const flags = parseFlags(process.argv.slice(3), ['top', 'from', 'to', 'timeline']);
const top = intFlag(flags, 'top', 25);
const from = intFlag(flags, 'from', 0) * 1000;
const to = flags.has('to') ? intFlag(flags, 'to', 0) * 1000 : Infinity;

const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfMs = new Map<number, number>();
/** Per second since the start: busy ms, and self ms by function name. */
const seconds: { busy: number; fns: Map<string, number> }[] = [];
let at = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  const ms = (profile.timeDeltas[i] ?? 0) / 1000;
  at += ms;
  if (at < from || at > to) continue;
  selfMs.set(id, (selfMs.get(id) ?? 0) + ms);
  const name = byId.get(id)!.callFrame.functionName;
  const sec = (seconds[Math.floor(at / 1000)] ??= { busy: 0, fns: new Map() });
  if (name !== '(idle)') {
    sec.busy += ms;
    sec.fns.set(name || '(anonymous)', (sec.fns.get(name || '(anonymous)') ?? 0) + ms);
  }
}

const short = (url: string) => {
  if (!url) return '(native)';
  const p = url.replace(/^file:\/\//, '');
  const at = p.indexOf('/dist/');
  return at >= 0 ? p.slice(at + 6) : p.startsWith('node:') ? p : path.basename(p);
};

const fns = new Map<string, number>();
const files = new Map<string, number>();
let total = 0;
let idle = 0;
for (const [id, ms] of selfMs) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  total += ms;
  if (functionName === '(idle)') idle += ms;
  const key = `${functionName || '(anonymous)'} ${short(url)}${url ? `:${lineNumber + 1}` : ''}`;
  fns.set(key, (fns.get(key) ?? 0) + ms);
  files.set(short(url), (files.get(short(url)) ?? 0) + ms);
}

const rows = (m: Map<string, number>) =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, ms]) => [k, (ms / 1000).toFixed(2), `${((ms / total) * 100).toFixed(1)}%`, `${((ms / Math.max(1, total - idle)) * 100).toFixed(1)}%`]);

console.log(`${file}: ${(total / 1000).toFixed(1)} s sampled, ${(idle / 1000).toFixed(1)} s idle`);
if (flags.has('timeline')) {
  for (let i = 0; i < seconds.length; i++) {
    const sec = seconds[i];
    if (!sec) continue;
    const tops = [...sec.fns.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
    console.log(`${String(i).padStart(4)} s  busy ${String(Math.round(sec.busy / 10)).padStart(3)}%  ${tops.map(([n, ms]) => `${n} ${Math.round(ms)}`).join(', ')}`);
  }
}
console.log(markdownTable(['function (self time)', 's', 'of all', 'of busy'], rows(fns)));
console.log();
console.log(markdownTable(['file (self time)', 's', 'of all', 'of busy'], rows(files)));
