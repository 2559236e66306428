/**
 * The DHT demo: a few dozen nodes on 127.0.0.1 join one another over real UDP, look each
 * other up, publish and find a signed record, lose some members and notice. Everything it
 * prints is measured, not assumed. Run with `npm run demo` (optionally: node count).
 */
import { randomBytes } from 'node:crypto';
import {
  compareDistance,
  DhtNode,
  type DhtNodeOptions,
  formatAddress,
  generateSigningKeyPair,
  mutableKey,
  toHex,
} from '../src/index.js';

const COUNT = Number(process.argv[2] ?? 32);
// Every node shares 127.0.0.1, so the per-IP limits meant for the open Internet are lifted.
const LOCAL: DhtNodeOptions = { host: '127.0.0.1', maxPerIpPerBucket: Infinity, rateLimit: null, lookupTimeoutMs: 300, requestTimeoutMs: 300, retries: 0 };

const short = (id: Uint8Array) => toHex(id).slice(0, 8);
const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

async function main(): Promise<void> {
  if (!Number.isInteger(COUNT) || COUNT < 4 || COUNT > 500) throw new Error('node count must be between 4 and 500');
  console.log(`Starting ${COUNT} DHT nodes on 127.0.0.1 (real UDP sockets, IDs = SHA-1 of host:port)\n`);
  const nodes: DhtNode[] = [];
  try {
    const t0 = process.hrtime.bigint();
    nodes.push(await DhtNode.create(LOCAL));
    console.log(`  node 1  ${formatAddress(nodes[0]!.address).padEnd(16)} id ${short(nodes[0]!.id)}  (first node, nobody to join)`);
    for (let i = 1; i < COUNT; i++) {
      const node = await DhtNode.create({ ...LOCAL, bootstrap: [nodes[i % Math.min(i, 3)]!.address] });
      nodes.push(node);
      if (i < 5 || i === COUNT - 1) {
        console.log(`  node ${String(i + 1).padEnd(2)} ${formatAddress(node.address).padEnd(16)} id ${short(node.id)}  joined, knows ${node.contacts().length} node${node.contacts().length === 1 ? "" : "s"}`);
      } else if (i === 5) console.log('  ...');
    }
    const avgTable = nodes.reduce((s, n) => s + n.contacts().length, 0) / nodes.length;
    console.log(`\nAll ${COUNT} joined in ${ms(t0).toFixed(0)} ms; routing tables hold ${avgTable.toFixed(1)} contacts on average.\n`);

    // Every node looks up a few random targets; compare with the true closest, known here.
    const LOOKUPS = COUNT * 3;
    let exact = 0;
    let rounds = 0;
    let messages = 0;
    const latencies: number[] = [];
    for (let i = 0; i < LOOKUPS; i++) {
      const from = nodes[i % COUNT]!;
      const target = i % 2 === 0 ? randomBytes(20) : nodes[(i * 7 + 3) % COUNT]!.id;
      const start = process.hrtime.bigint();
      const result = await from.lookup(target);
      latencies.push(ms(start));
      const truth = nodes.filter((n) => n !== from).sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, 20);
      if (truth.every((n, j) => result.contacts[j] && toHex(result.contacts[j]!.id) === toHex(n.id))) exact++;
      rounds += result.rounds;
      messages += result.messages;
    }
    latencies.sort((a, b) => a - b);
    console.log(`${LOOKUPS} lookups (random targets and other nodes' IDs):`);
    console.log(`  exact k-closest sets: ${exact}/${LOOKUPS}`);
    console.log(`  rounds per lookup:    ${(rounds / LOOKUPS).toFixed(2)} on average`);
    console.log(`  messages per lookup:  ${(messages / LOOKUPS).toFixed(1)} on average`);
    console.log(`  latency:              median ${latencies[latencies.length >> 1]!.toFixed(2)} ms, max ${latencies[latencies.length - 1]!.toFixed(2)} ms\n`);

    // A signed, mutable record: how a peer will say "I am now at host:port".
    const owner = generateSigningKeyPair();
    const salt = Buffer.from('peer-record');
    const publisher = nodes[1]!;
    const first = await publisher.putSigned(owner, Buffer.from(`peer at ${formatAddress(publisher.address)}`), { salt });
    const second = await publisher.putSigned(owner, Buffer.from('peer moved to 127.0.0.1:9999'), { salt });
    const reader = nodes[COUNT - 1]!;
    const got = await reader.get(mutableKey(owner.publicKey, salt));
    console.log(`Signed record under key ${short(mutableKey(owner.publicKey, salt))}: seq ${first.seq} then seq ${second.seq}, stored on ${second.stored} nodes`);
    console.log(`  node ${COUNT} reads: "${Buffer.from(got!.value).toString()}" (seq ${got!.seq}, signature checked)\n`);

    // Some nodes leave without a word; the others notice when they stop answering.
    const leaving = nodes.splice(COUNT - 4, 3);
    await Promise.all(leaving.map((n) => n.close()));
    const watcher = nodes[0]!;
    const knewBefore = leaving.filter((l) => watcher.contacts().some((c) => toHex(c.id) === toHex(l.id))).length;
    for (const l of leaving) {
      await watcher.lookup(l.id);
      await watcher.lookup(l.id);
    }
    const knowsAfter = leaving.filter((l) => watcher.contacts().some((c) => toHex(c.id) === toHex(l.id))).length;
    console.log(`3 nodes stopped. Node 1 had ${knewBefore} of them in its table; after they failed to answer: ${knowsAfter}.`);
    const s = watcher.stats();
    console.log(`Node 1 counters: sent ${s.sent}, received ${s.received}, timeouts ${s.timeouts}, malformed ${s.droppedMalformed}, spoofed ${s.droppedSpoofed}\n`);
    console.log('Done: every node closed its socket and timers.');
  } finally {
    await Promise.all(nodes.map((n) => n.close()));
  }
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
