/** bench:dht-udp's measurement: a series of lookups on one swarm, and a phase (start, warm up, measure, close). */
import { performance } from 'node:perf_hooks';
import { collectGarbage, type LookupTask, recall, trueClosest } from '../common.js';
import { K, type Measured, type Swarm } from './swarm.js';
import { wire } from './wire-count.js';

async function measure(swarm: Swarm, tasks: LookupTask[]): Promise<Measured> {
  const out: Measured = { latencyMs: [], queries: [], datagrams: [], bytes: [], recalls: [], failures: 0 };
  for (const { from, target } of tasks) {
    const before = { ...wire };
    const started = performance.now();
    const r = await swarm.lookup(from, target);
    out.latencyMs.push(performance.now() - started);
    out.datagrams.push(wire.datagrams - before.datagrams);
    out.bytes.push(wire.bytes - before.bytes);
    out.queries.push(r.queries);
    out.failures += r.failures;
    out.recalls.push(recall(r.closest, trueClosest(swarm.ids, target, K, from)));
  }
  return out;
}

export interface PhaseOptions {
  nodes: number;
  warmup: LookupTask[];
  tasks: LookupTask[];
}

/** Starts one implementation, warms it up, measures it and shuts it down before the next. */
export async function phase(start: (n: number) => Promise<Swarm>, opts: PhaseOptions): Promise<{ swarm: Swarm; m: Measured }> {
  const swarm = await start(opts.nodes);
  console.error(`${swarm.name}: ${opts.nodes} nodes joined in ${(swarm.joinMs / 1000).toFixed(1)} s; warming up...`);
  await measure(swarm, opts.warmup);
  console.error(`${swarm.name}: ${opts.tasks.length} lookups...`);
  const m = await measure(swarm, opts.tasks);
  await swarm.close();
  // Leave none of this implementation's garbage for the next one to collect.
  collectGarbage();
  return { swarm, m };
}
