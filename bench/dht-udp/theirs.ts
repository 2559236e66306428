/**
 * The reference driver of bench:dht-udp: a swarm of bittorrent-dht nodes, with its lookup
 * queries counted the way `LookupResult.messages` counts ours.
 */
import { performance } from 'node:perf_hooks';
import DHT from 'bittorrent-dht';
import { compareDistance } from '../../src/index.js';
import { HOST, K, type Swarm } from './swarm.js';

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

export async function startTheirs(n: number): Promise<Swarm> {
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
