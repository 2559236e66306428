/**
 * The restic side of bench:backup: installs restic from Debian's packages if missing, runs it
 * timed with its peak RSS and CPU time, and kills what still runs when the benchmark ends.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { commandSucceeds, cpuSecondsOf, peakRssBytes } from '../common.js';

export interface ResticRun {
  seconds: number;
  peak: number;
  cpu: number;
  stdout: string;
}

/** Every restic process still running, for the clean-up. */
const children = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Kills every restic process still running (the benchmark is ending, perhaps on Ctrl-C). */
export function killRestic(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

function haveCommand(name: string): boolean {
  return commandSucceeds('sh', ['-c', `command -v ${name}`]);
}

/** restic's version line, installing it from Debian's packages if missing; null if that fails. */
export function ensureRestic(): string | null {
  if (!haveCommand('restic')) {
    console.log('restic is not installed: apt-get install -y restic ...');
    try {
      execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic'], { stdio: ['ignore', 'ignore', 'inherit'] });
    } catch {
      return null;
    }
  }
  try {
    return execFileSync('restic', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

/** Runs restic, timed; peak RSS and CPU from `/usr/bin/time -v`, or by polling /proc without it. */
export async function restic(args: string[], env: NodeJS.ProcessEnv, useTime: boolean): Promise<ResticRun> {
  const [cmd, argv] = useTime ? ['/usr/bin/time', ['-v', 'restic', ...args]] : ['restic', args];
  const start = performance.now();
  const child = track(spawn(cmd, argv as string[], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let polledPeak = NaN;
  let polledCpu = NaN;
  const poll = useTime
    ? undefined
    : setInterval(() => {
        const peak = peakRssBytes(child.pid!);
        const cpu = cpuSecondsOf(child.pid!);
        if (Number.isFinite(peak)) polledPeak = Number.isFinite(polledPeak) ? Math.max(polledPeak, peak) : peak;
        if (Number.isFinite(cpu)) polledCpu = cpu;
      }, 50);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const seconds = (performance.now() - start) / 1000;
  if (poll) clearInterval(poll);
  if (code !== 0) throw new Error(`restic ${args.join(' ')} exited with ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
  if (!useTime) return { seconds, peak: polledPeak, cpu: polledCpu, stdout };
  const num = (re: RegExp) => Number(re.exec(stderr)?.[1] ?? NaN);
  return {
    seconds,
    peak: num(/Maximum resident set size \(kbytes\): (\d+)/) * 1024,
    cpu: num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/),
    stdout,
  };
}
