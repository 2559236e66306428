/**
 * One timed phase of bench:backup: wall time, and for each peer process its peak RSS, CPU time,
 * RPC timeouts and refused connections in the phase; the owner sampled for where its memory was.
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { PeerProcess } from '../../test/helpers/peer-process.js';
import { cpuTimesOf, fixed, peakRssBytes, resetPeakRss, statusKiB } from '../common.js';
import { KiB, MiB } from './settings.js';

/** Current RSS of `pid` in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  return statusKiB(pid, 'VmRSS') * KiB;
}

export interface Phase<T> {
  value: T;
  seconds: number;
  /** Peak RSS in the phase, bytes, by process name. */
  peaks: Map<string, number>;
  /** CPU seconds used in the phase, by process name. */
  cpu: Map<string, number>;
  /** User and system CPU seconds: the owner (first process) and all the others together. */
  split: { ownerUser: number; ownerSystem: number; othersUser: number; othersSystem: number };
  /** RPC requests of the first process (the owner) that timed out during the phase. */
  timeouts: number;
  /** TCP connections the other processes (the hosts) refused during the phase, by code. */
  refused: Map<string, number>;
  /** Where the first process (the owner) was at its highest RSS in the phase, one line. */
  memoryNote: string;
}

/** Where a process's memory was, MiB: kernel figures (/proc/PID/status) and Node's own (process.memoryUsage). */
interface MemorySample {
  rss: number;
  /** File-backed pages: mostly the node binary's code. */
  file: number;
  anon: number;
  heapTotal: number;
  external: number;
}

/** Samples `proc` every 100 ms until stopped; keeps the sample with the highest RSS. */
function sampleMemory(proc: PeerProcess): { stop: () => Promise<MemorySample | null> } {
  let best: MemorySample | null = null;
  let running = true;
  const loop = (async () => {
    while (running) {
      const rss = statusKiB(proc.pid, 'VmRSS') / KiB;
      const usage = await proc.ask<NodeJS.MemoryUsage>({ cmd: 'memory' }).catch(() => null);
      if (usage && Number.isFinite(rss) && (!best || rss > best.rss)) {
        best = { rss, file: statusKiB(proc.pid, 'RssFile') / KiB, anon: statusKiB(proc.pid, 'RssAnon') / KiB, heapTotal: usage.heapTotal / MiB, external: usage.external / MiB };
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return best;
    },
  };
}

function describeSample(m: MemorySample | null): string {
  if (!m) return 'not sampled';
  return `RSS ${fixed(m.rss, 0)} MiB = ${fixed(m.file, 0)} file-backed (node's code) + ${fixed(m.anon, 0)} anonymous; JS heap ${fixed(m.heapTotal, 0)}, external ${fixed(m.external, 0)}`;
}

type Status = { dht: { timeouts: number }; transfer: { refused: Record<string, number> } };

/**
 * Times `run`, with peak RSS and CPU time of `procs`; before it: `sync`, and a full GC in each.
 * The first process (the owner) is also sampled for where its memory was at its highest.
 */
export async function measure<T>(label: string, procs: PeerProcess[], run: () => Promise<T>): Promise<Phase<T>> {
  execFileSync('sync');
  await Promise.all(procs.map((p) => p.ask({ cmd: 'gc' })));
  for (const p of procs) resetPeakRss(p.pid);
  const status0 = await Promise.all(procs.map((p) => p.ask<Status>({ cmd: 'status' })));
  const cpu0 = procs.map((p) => cpuTimesOf(p.pid));
  const sampler = sampleMemory(procs[0]!);
  const start = performance.now();
  const value = await run();
  const seconds = (performance.now() - start) / 1000;
  const note = `${label}: ${describeSample(await sampler.stop())}`;
  console.log(`  ${procs[0]!.name} ${note}`);
  const peaks = new Map(procs.map((p) => [p.name, peakRssBytes(p.pid)]));
  const used = procs.map((p, i) => {
    const t = cpuTimesOf(p.pid);
    return { user: t.user - cpu0[i]!.user, system: t.system - cpu0[i]!.system };
  });
  const cpu = new Map(procs.map((p, i) => [p.name, used[i]!.user + used[i]!.system]));
  console.log(`  CPU s user/system: ${procs.map((p, i) => `${p.name} ${fixed(used[i]!.user, 1)}/${fixed(used[i]!.system, 1)}`).join(', ')}`);
  const status1 = await Promise.all(procs.map((p) => p.ask<Status>({ cmd: 'status' })));
  const timeouts = status1[0]!.dht.timeouts - status0[0]!.dht.timeouts;
  const refused = new Map<string, number>();
  for (let i = 1; i < procs.length; i++) {
    for (const [code, n] of Object.entries(status1[i]!.transfer.refused)) {
      const d = n - (status0[i]!.transfer.refused[code] ?? 0);
      if (d > 0) refused.set(code, (refused.get(code) ?? 0) + d);
    }
  }
  const others = used.slice(1);
  const split = {
    ownerUser: used[0]!.user,
    ownerSystem: used[0]!.system,
    othersUser: others.reduce((a, x) => a + x.user, 0),
    othersSystem: others.reduce((a, x) => a + x.system, 0),
  };
  return { value, seconds, peaks, cpu, split, timeouts, refused, memoryNote: note };
}
