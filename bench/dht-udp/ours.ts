/** bench:dht-udp's swarm of our DHT nodes (`DhtNode`), joining one by one through the first. */
import { performance } from 'node:perf_hooks';
import { DhtNode } from '../../src/index.js';
import { HOST, type Swarm } from './swarm.js';

export async function startOurs(n: number): Promise<Swarm> {
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
