/**
 * Our DHT against bittorrent-dht on real UDP sockets on 127.0.0.1: the same number of
 * nodes, the same lookup targets from the same node positions, one lookup at a time, one
 * implementation after the other, each warmed up first.
 *
 *   node dist/bench/dht-udp.js [--nodes 256] [--lookups 300] [--warmup 50] [--seed 1] [--write]
 *
 * Both run in this one process (one event loop), so latency is mostly the CPU work of
 * every node the lookup touches, not the network.
 */
import dgram from 'node:dgram';
import DHT from 'bittorrent-dht';
import { compareDistance, DhtNode } from '../src/index.js';
import {
  type Cell,
  collectGarbage,
  fixed,
  intFlag,
  type LookupTask,
  machineLines,
  makeTasks,
  markdownTable,
  mean,
  median,
  parseFlags,
  percent,
  quantile,
  recall,
  seededRandom,
  trueClosest,
  writeSection,
} from './common.js';

const K = 20;
const HOST = '127.0.0.1';

/** What one implementation has to offer the benchmark. */
interface Swarm {
  name: string;
  ids: Uint8Array[];
  joinMs: number;
  /** Runs one lookup from node `from`; returns the queries that node sent and the closest nodes found. */
  lookup(from: number, target: Uint8Array): Promise<{ queries: number; failures: number; closest: Uint8Array[] }>;
  close(): Promise<void>;
}

interface Measured {
  latencyMs: number[];
  queries: number[];
  datagrams: number[];
  bytes: number[];
  recalls: number[];
  failures: number;
}

// --- counting every datagram ----------------------------------------------------------------

/**
 * Every UDP datagram either implementation sends, requests and replies, including
 * background traffic such as the pings that verify new contacts. Both implementations use
 * node:dgram, so patching `Socket.prototype.send` counts them the same way.
 */
const wire = { datagrams: 0, bytes: 0 };

function countDatagrams(): void {
  const send = dgram.Socket.prototype.send as (...args: unknown[]) => void;
  dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: unknown[]) {
    // send(msg, offset, length, port, address, cb) or send(msg, port, address, cb). A send
    // on a socket still binding is queued by Node and replayed later with msg turned into
    // an array: neither implementation passes arrays, so arrays are such replays, not counted.
    const [msg, second, third] = args;
    if (!Array.isArray(msg)) {
      wire.datagrams++;
      wire.bytes += typeof second === 'number' && typeof third === 'number' ? third : (msg as Uint8Array).byteLength;
    }
    return send.apply(this, args);
  } as typeof dgram.Socket.prototype.send;
}

// --- our DHT ------------------------------------------------------------------------------

async function startOurs(n: number): Promise<Swarm> {
  const options = { host: HOST, port: 0, rateLimit: null, maxPerIpPerBucket: Infinity };
  const started = performance.now();
  const first = await DhtNode.create(options);
  const nodes = [first];
  for (let i = 1; i < n; i++) nodes.push(await DhtNode.create({ ...options, bootstrap: [first.address] }));
  return {
    name: 'ours',
    ids: nodes.map((node) => node.id),
    joinMs: performance.now() - started,
    async lookup(from, target) {
      const r = await nodes[from]!.lookup(target);
      return { queries: r.messages, failures: r.failures, closest: r.contacts.map((c) => c.id) };
    },
    async close() {
      await Promise.all(nodes.map((node) => node.close()));
    },
  };
}

// --- bittorrent-dht -------------------------------------------------------------------------

interface TheirNode {
  dht: DHT;
  /** get_peers queries this node has sent, and how many of them failed (timeout, error). */
  queries: number;
  failures: number;
}

/** One bittorrent-dht node on 127.0.0.1, resolved once it listens and has bootstrapped. */
function startTheirNode(bootstrap: string | undefined): Promise<TheirNode> {
  const dht = new DHT({ bootstrap: bootstrap ? [bootstrap] : false });
  const node: TheirNode = { dht, queries: 0, failures: 0 };
  countLookupQueries(node);
  dht.on('warning', () => {});
  const listening = new Promise<void>((resolve) => dht.listen(0, HOST, resolve));
  const ready = new Promise<void>((resolve, reject) => {
    dht.once('ready', resolve);
    dht.once('error', reject);
  });
  return Promise.all([listening, ready]).then(() => node);
}

/**
 * A lookup's queries all go through the k-rpc socket's `query`; counting the get_peers ones
 * counts what `LookupResult.messages` counts for us (queries sent, not replies or pings).
 */
function countLookupQueries(node: TheirNode): void {
  const socket = node.dht._rpc.socket;
  const query = socket.query.bind(socket);
  socket.query = (peer, message, cb) => {
    if (message.q !== 'get_peers') return query(peer, message, cb);
    node.queries++;
    return query(peer, message, (err, reply, from) => {
      if (err) node.failures++;
      cb?.(err, reply, from);
    });
  };
}

async function startTheirs(n: number): Promise<Swarm> {
  const started = performance.now();
  const first = await startTheirNode(undefined);
  const bootstrap = `${HOST}:${first.dht.address().port}`;
  const nodes = [first];
  for (let i = 1; i < n; i++) nodes.push(await startTheirNode(bootstrap));
  return {
    name: 'bittorrent-dht',
    ids: nodes.map((node) => node.dht.nodeId),
    joinMs: performance.now() - started,
    async lookup(from, target) {
      const node = nodes[from]!;
      const before = { queries: node.queries, failures: node.failures };
      await new Promise<void>((resolve) => node.dht.lookup(target, () => resolve()));
      return {
        queries: node.queries - before.queries,
        failures: node.failures - before.failures,
        closest: closestAnswered(node.dht, target),
      };
    },
    async close() {
      await Promise.all(nodes.map((node) => new Promise<void>((resolve) => node.dht.destroy(resolve))));
    },
  };
}

/**
 * The k closest nodes that answered the lookup: bittorrent-dht keeps them in a k-bucket
 * keyed by target. Sorted here exactly, because k-bucket's own distance is a float that
 * loses precision after 53 bits.
 */
function closestAnswered(dht: DHT, target: Uint8Array): Uint8Array[] {
  const table = dht._tables.get(Buffer.from(target).toString('hex'));
  if (!table) return [];
  return table
    .toArray()
    .map((c) => c.id)
    .sort((a, b) => compareDistance(target, a, b))
    .slice(0, K);
}

// --- the workload ---------------------------------------------------------------------------

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

interface PhaseOptions {
  nodes: number;
  warmup: LookupTask[];
  tasks: LookupTask[];
}

/** Starts one implementation, warms it up, measures it and shuts it down before the next. */
async function phase(start: (n: number) => Promise<Swarm>, opts: PhaseOptions): Promise<{ swarm: Swarm; m: Measured }> {
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

// --- output ----------------------------------------------------------------------------------

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

function section(opts: PhaseOptions & { seed: number }, results: { swarm: Swarm; m: Measured }[]): string {
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
