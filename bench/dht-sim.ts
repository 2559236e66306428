/**
 * Lookup cost in simulated networks of 100 to 10,000 nodes, all in this process on
 * `MemoryNetwork` (no sockets, no loss, no timeouts). Nodes join one by one through a few
 * fixed bootstrap nodes; then lookups of random targets from random nodes are checked
 * against the true closest nodes.
 *
 *   node dist/bench/dht-sim.js [--sizes 100,1000,10000] [--lookups 200] [--seed 1]
 *                              [--bootstrap 3] [--refresh-on-join auto|yes|no] [--write]
 *
 * Joining with refreshOnJoin costs about ten times the datagrams of joining without it
 * (one lookup per bucket instead of one in all), and the simulation spends tens of
 * microseconds of CPU per datagram: 1,000 nodes join in about a minute, 10,000 would take
 * a quarter of an hour or more. `auto` (the default) therefore refreshes on join up to
 * AUTO_REFRESH_MAX_NODES nodes and not beyond; the table says which was used.
 */
import { DhtNode, ManualClock, MemoryNetwork } from '../src/index.js';
import {
  type Cell,
  collectGarbage,
  fixed,
  intFlag,
  machineLines,
  makeTasks,
  markdownTable,
  max,
  mean,
  median,
  megabytes,
  parseFlags,
  percent,
  quantile,
  recall,
  seededRandom,
  trueClosest,
  writeSection,
} from './common.js';

const K = 20;
const PORT = 4000;
/** The goal: median lookup rounds at 10,000 nodes. */
const GOAL_SIZE = 10_000;
const GOAL_ROUNDS = 4;
/** Largest network that `--refresh-on-join auto` joins with refreshOnJoin. */
const AUTO_REFRESH_MAX_NODES = 1000;

type RefreshPolicy = 'auto' | 'yes' | 'no';

interface SimOptions {
  lookups: number;
  seed: number;
  bootstrapCount: number;
  refresh: RefreshPolicy;
}

interface SimResult {
  n: number;
  refreshOnJoin: boolean;
  joinMs: number;
  datagramsPerJoin: number;
  rssBytes: number;
  heapBytes: number;
  rounds: number[];
  messages: number[];
  recalls: number[];
}

/** Distinct fake IPs 10.x.y.z, so every node gets its own ID (SHA-1 of host:port). */
function hostFor(i: number): string {
  const j = i + 1;
  return `10.${(j >> 16) & 255}.${(j >> 8) & 255}.${j & 255}`;
}

/**
 * Joins `n` nodes one at a time. The first `bootstrapCount` nodes join each other; every
 * later node joins through those same few, like real peers joining through well-known
 * bootstrap hosts.
 */
async function buildNetwork(n: number, refreshOnJoin: boolean, opts: SimOptions): Promise<{ network: MemoryNetwork; nodes: DhtNode[]; joinMs: number }> {
  const network = new MemoryNetwork();
  const nodes: DhtNode[] = [];
  const started = performance.now();
  let reported = started;
  for (let i = 0; i < n; i++) {
    const seeds = nodes.slice(0, opts.bootstrapCount).map((node) => node.address);
    nodes.push(
      await DhtNode.create({
        transport: network.bind(hostFor(i), PORT),
        // One clock per node: ManualClock.clearTimeout scans its timer list, so a clock
        // shared by 10,000 nodes would make every answered request cost O(n). Time never
        // moves, so maintenance never runs and no request times out (none is lost).
        clock: new ManualClock(),
        rateLimit: null,
        maxPerIpPerBucket: Infinity,
        refreshOnJoin,
        bootstrap: seeds,
      }),
    );
    // Progress on stderr: joining 10,000 nodes takes minutes.
    if (performance.now() - reported > 10_000) {
      reported = performance.now();
      console.error(`  joined ${i + 1}/${n} in ${((reported - started) / 1000).toFixed(0)} s`);
    }
  }
  return { network, nodes, joinMs: performance.now() - started };
}

/** Lookups run one after another: rounds and messages do not depend on concurrency. */
async function runLookups(nodes: DhtNode[], opts: SimOptions): Promise<Pick<SimResult, 'rounds' | 'messages' | 'recalls'>> {
  const ids = nodes.map((node) => node.id);
  const tasks = makeTasks(seededRandom(opts.seed), opts.lookups, nodes.length);
  const out = { rounds: [] as number[], messages: [] as number[], recalls: [] as number[] };
  for (const { from, target } of tasks) {
    const result = await nodes[from]!.lookup(target);
    out.rounds.push(result.rounds);
    out.messages.push(result.messages);
    out.recalls.push(recall(result.contacts.map((c) => c.id), trueClosest(ids, target, K, from)));
  }
  return out;
}

function refreshFor(n: number, policy: RefreshPolicy): boolean {
  return policy === 'auto' ? n <= AUTO_REFRESH_MAX_NODES : policy === 'yes';
}

async function simulate(n: number, opts: SimOptions): Promise<SimResult> {
  const refreshOnJoin = refreshFor(n, opts.refresh);
  console.error(`n=${n}: joining (refreshOnJoin ${refreshOnJoin})...`);
  const { network, nodes, joinMs } = await buildNetwork(n, refreshOnJoin, opts);
  const datagramsPerJoin = network.counters.sent / n;
  collectGarbage();
  const { rss, heapUsed } = process.memoryUsage();
  console.error(`n=${n}: joined in ${(joinMs / 1000).toFixed(1)} s; ${opts.lookups} lookups...`);
  const lookups = await runLookups(nodes, opts);
  await Promise.all(nodes.map((node) => node.close()));
  return { n, refreshOnJoin, joinMs, datagramsPerJoin, rssBytes: rss, heapBytes: heapUsed, ...lookups };
}

function resultRow(r: SimResult): Cell[] {
  return [
    r.n,
    r.refreshOnJoin ? 'yes' : 'no',
    `${fixed(r.joinMs / 1000)} s`,
    fixed(r.joinMs / r.n, 2),
    fixed(r.datagramsPerJoin, 0),
    megabytes(r.rssBytes),
    megabytes(r.heapBytes),
    `${median(r.rounds)} / ${quantile(r.rounds, 0.9)} / ${max(r.rounds)}`,
    `${median(r.messages)} / ${quantile(r.messages, 0.9)}`,
    percent(mean(r.recalls)),
    percent(r.recalls.filter((x) => x === 1).length / r.recalls.length),
  ];
}

const HEADER = [
  'nodes',
  'refresh on join',
  'join time',
  'ms/join',
  'datagrams/join',
  'RSS',
  'heap',
  'rounds med/p90/max',
  'msgs med/p90',
  'recall',
  'exact 20/20',
];

function goalLine(results: SimResult[]): string {
  const r = results.find((x) => x.n === GOAL_SIZE);
  if (!r) return `Goal (median <= ${GOAL_ROUNDS} rounds at ${GOAL_SIZE} nodes): not measured in this run.`;
  const m = median(r.rounds);
  // Without the refresh, a joining node knows little beyond its own neighbourhood, so its
  // lookups (and lookups through it) take more hops than in a network that has run a while.
  const caveat = r.refreshOnJoin ? '' : ' Nodes joined without refreshOnJoin, so routing tables are sparser than after a normal join.';
  return `Goal (median <= ${GOAL_ROUNDS} rounds at ${GOAL_SIZE} nodes): median ${m}, ${m <= GOAL_ROUNDS ? 'met' : 'NOT met'}.${caveat}`;
}

function section(results: SimResult[], opts: SimOptions): string {
  return [
    '## dht-sim: lookups in simulated networks',
    '',
    ...machineLines(),
    '',
    `Nodes on the in-memory network (no loss), ${opts.bootstrapCount} bootstrap nodes, k = ${K}, alpha = 3, ` +
      `${opts.lookups} lookups of random targets from random nodes per size (seed ${opts.seed}), run one at a time.`,
    'Rounds: longest referral chain from a seed to a queried contact (`LookupResult.rounds`). Msgs: queries sent',
    `(\`LookupResult.messages\`). Recall: share of the true ${K} closest node IDs (all nodes but the querier) that`,
    `the lookup returned; exact: lookups that returned all ${K}. Datagrams/join: every datagram on the network`,
    'while building it (requests and replies), divided by the node count. RSS and heap: whole process after joining.',
    'Refresh on join: whether nodes joined with `refreshOnJoin` (a lookup per bucket after the self-lookup).',
    ...(opts.refresh === 'auto'
      ? [`It is off above ${AUTO_REFRESH_MAX_NODES} nodes (\`--refresh-on-join auto\`): joining 10,000 nodes with it takes too long.`]
      : []),
    '',
    markdownTable(HEADER, results.map(resultRow)),
    '',
    goalLine(results),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['sizes', 'lookups', 'seed', 'bootstrap', 'refresh-on-join', 'write']);
  const sizesFlag = flags.get('sizes');
  const sizes = (typeof sizesFlag === 'string' ? sizesFlag : '100,1000,10000').split(',').map(Number);
  if (sizes.some((s) => !Number.isInteger(s) || s < 2)) throw new Error('--sizes needs a comma-separated list of node counts >= 2');
  const refresh = flags.get('refresh-on-join') ?? 'auto';
  if (refresh !== 'auto' && refresh !== 'yes' && refresh !== 'no') throw new Error('--refresh-on-join is auto, yes or no');
  const opts: SimOptions = {
    lookups: intFlag(flags, 'lookups', 200),
    seed: intFlag(flags, 'seed', 1),
    bootstrapCount: Math.max(1, intFlag(flags, 'bootstrap', 3)),
    refresh,
  };

  const results: SimResult[] = [];
  for (const n of sizes) results.push(await simulate(n, opts));

  const text = section(results, opts);
  console.log(`\n${text}`);
  if (flags.has('write')) writeSection('dht-sim', text);
}

await main();
