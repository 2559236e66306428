/**
 * Our DHT against bittorrent-dht on real UDP sockets on 127.0.0.1: the same number of
 * nodes, the same lookup targets from the same node positions, one lookup at a time, one
 * implementation after the other, each warmed up first.
 *
 *   node dist/bench/dht-udp.js [--nodes 256] [--lookups 300] [--warmup 50] [--seed 1] [--write]
 *
 * Both run in this one process (one event loop), so latency is mostly the CPU work of
 * every node the lookup touches, not the network.
 *
 * The parts, in bench/dht-udp/: swarm.ts (the interface both sides offer), wire-count.ts
 * (every datagram sent), ours.ts, theirs.ts (bittorrent-dht, the reference), measure.ts
 * (lookups and phases), report.ts (the section). This file reads the flags and runs both.
 */
import { intFlag, makeTasks, parseFlags, seededRandom, writeSection } from './common.js';
import { phase } from './dht-udp/measure.js';
import { startOurs } from './dht-udp/ours.js';
import { section } from './dht-udp/report.js';
import { startTheirs } from './dht-udp/theirs.js';
import { countDatagrams } from './dht-udp/wire-count.js';

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['nodes', 'lookups', 'warmup', 'seed', 'write']);
  const nodes = intFlag(flags, 'nodes', 256);
  if (nodes < 2) throw new Error('--nodes must be at least 2');
  const seed = intFlag(flags, 'seed', 1);
  // Node positions, not node IDs: the IDs differ between the implementations, the
  // workload does not. Warm-up targets come from another seed so none is measured twice.
  const opts = {
    nodes,
    seed,
    tasks: makeTasks(seededRandom(seed), intFlag(flags, 'lookups', 300), nodes),
    warmup: makeTasks(seededRandom(seed + 1_000_003), intFlag(flags, 'warmup', 50), nodes),
  };
  countDatagrams();

  const results = [await phase(startOurs, opts), await phase(startTheirs, opts)];

  const text = section(opts, results);
  console.log(`\n${text}`);
  if (flags.has('write')) writeSection('dht-udp', text);
}

await main();
