/** The section bench:dht-udp writes to docs/benchmarks.md: the table and the goals. */
import { type Cell, fixed, machineLines, markdownTable, mean, median, percent, quantile } from '../common.js';
import type { PhaseOptions } from './measure.js';
import { K, type Measured, type Swarm } from './swarm.js';

const HEADER = [
  'implementation',
  'join time',
  'latency med',
  'latency p99',
  'queries med/mean',
  'datagrams/lookup',
  'KiB/lookup',
  'recall',
  'exact 20/20',
  'failed queries',
];

function row(name: string, joinMs: number, m: Measured): Cell[] {
  return [
    name,
    `${fixed(joinMs / 1000)} s`,
    `${fixed(median(m.latencyMs))} ms`,
    `${fixed(quantile(m.latencyMs, 0.99))} ms`,
    `${median(m.queries)} / ${fixed(mean(m.queries))}`,
    fixed(mean(m.datagrams)),
    fixed(mean(m.bytes) / 1024),
    percent(mean(m.recalls)),
    percent(m.recalls.filter((x) => x === 1).length / m.recalls.length),
    m.failures,
  ];
}

function verdict(ok: boolean): string {
  return ok ? 'met' : 'NOT met';
}

function goalLines(ours: Measured, theirs: Measured): string[] {
  const latency = (q: number, m: Measured) => quantile(m.latencyMs, q);
  return [
    `- At least as exact: recall ${percent(mean(ours.recalls))} vs ${percent(mean(theirs.recalls))}: ${verdict(mean(ours.recalls) >= mean(theirs.recalls))}.`,
    `- Fewer messages: ${fixed(mean(ours.queries))} vs ${fixed(mean(theirs.queries))} queries per lookup: ${verdict(mean(ours.queries) < mean(theirs.queries))}` +
      ` (all datagrams: ${fixed(mean(ours.datagrams))} vs ${fixed(mean(theirs.datagrams))}).`,
    `- At most half the latency: median ${fixed(latency(0.5, ours))} vs ${fixed(latency(0.5, theirs))} ms: ${verdict(latency(0.5, ours) <= latency(0.5, theirs) / 2)};` +
      ` p99 ${fixed(latency(0.99, ours))} vs ${fixed(latency(0.99, theirs))} ms: ${verdict(latency(0.99, ours) <= latency(0.99, theirs) / 2)}.`,
  ];
}

export function section(opts: PhaseOptions & { seed: number }, results: { swarm: Swarm; m: Measured }[]): string {
  const [ours, theirs] = results as [{ swarm: Swarm; m: Measured }, { swarm: Swarm; m: Measured }];
  return [
    '## dht-udp: ours vs bittorrent-dht on UDP',
    '',
    ...machineLines(),
    '',
    `${opts.nodes} nodes of each implementation on 127.0.0.1 in one process, joining one by one through the first.`,
    `Each is warmed up with ${opts.warmup.length} lookups, then runs the same ${opts.tasks.length} lookups (random targets`,
    `from random node positions, seed ${opts.seed}) one at a time; the other implementation is shut down meanwhile.`,
    'Ours: `DhtNode.lookup` (FIND_NODE, alpha = 3, k = 20) with `rateLimit: null, maxPerIpPerBucket: Infinity`, other',
    'options default. bittorrent-dht 11: `dht.lookup` (get_peers, k = 20, up to 16 queries in flight), defaults;',
    'note that it answers get_peers with every contact in its routing table, not only the k closest (KiB/lookup).',
    'Queries: lookup queries the querying node sent (ours: `LookupResult.messages`; theirs: get_peers queries through',
    'its k-rpc socket). Datagrams and KiB: everything any node sent while the lookup ran (replies, pings included).',
    `Recall: share of the true ${K} closest node IDs (all nodes but the querier) among the ${K} closest nodes that`,
    'answered the lookup; exact: lookups that found all of them.',
    '',
    markdownTable(HEADER, results.map(({ swarm, m }) => row(swarm.name, swarm.joinMs, m))),
    '',
    'Goals from the issue (ours vs bittorrent-dht):',
    '',
    ...goalLines(ours.m, theirs.m),
    '',
  ].join('\n');
}
