/**
 * A home peer for the hole-punching lab test (test/nat-punch.test.ts), in its own process inside
 * a NAT lab namespace: a DHT node with its NAT service (as nat-node-child.ts) plus what the Peer
 * wires on top for punching (src/peer/wiring.ts): a contract service on a scratch database, the
 * HELLO handler, discovery publishing a peer record that names our rendezvous, the HELLO
 * client that punches first and the transfer client that opens punched TCP streams
 * (nat/punch-routes.ts), and a shard transfer server on a scratch shard store, which also serves
 * the streams punched to us. Prints {"ready", "address", "id", "publicKey"}
 * once joined, then answers one JSON command a line:
 * - status: address, reach (with `registeredWith`), punching counters, contracts;
 * - publish: publishes the peer record now and answers it as the DHT has it;
 * - ping {to}: a DHT PING, {"answered"};
 * - peers: how each known peer is reached (what `dbs peers` shows);
 * - punch {to, via}: a UDP punch through the rendezvous `via`, then a TCP simultaneous open on it
 *   (closed at once): {"udpMs", "tcpMs"} or {"error", "stage"} (bench/nat-rendezvous.ts);
 * - propose {publicKey}: finds the peer's record, punches to it if it names rendezvous,
 *   proposes a contract for a 1 MiB shard of random bytes, uploads the shard over a punched TCP
 *   stream and audits it: {"accepted", "punched", "record", "uploaded", "audit", "error"};
 * - stop.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { DhtNode } from '../../src/dht/node.js';
import { type Address, formatAddress, parseAddress } from '../../src/net/address.js';
import { NatService, type NatServiceOptions } from '../../src/nat/nat-service.js';
import { PunchRoutes, punchingConnect, punchingIntroduce } from '../../src/nat/punch-routes.js';
import type { StoredContract } from '../../src/contracts/store.js';
import { OwnerTransfers } from '../../src/peer/owner-transfers.js';
import { ShardStore } from '../../src/storage/shard-store.js';
import { digestFromLeaves, hashLeaf, LEAF_SIZE } from '../../src/storage/merkle.js';
import { connectDirect } from '../../src/transfer/client.js';
import { TransferServer } from '../../src/transfer/server.js';
import { ContractService } from '../../src/contracts/service.js';
import { DEFAULT_CONTRACT_OPTIONS } from '../../src/peer/options.js';
import { Discovery } from '../../src/peer/discovery.js';
import { answerHello, helloClient } from '../../src/peer/hello.js';
import { findPeerRecord } from '../../src/peer/peer-record.js';
import { generateSigningKeyPair } from '../../src/crypto/ed25519.js';
import { openDatabase } from '../../src/storage/database.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { systemClock } from '../../src/util/clock.js';

export interface NatPunchConfig {
  host: string;
  port: number;
  bootstrap: string[];
  addressQuorum?: number;
  keepaliveIntervalMs?: number;
  /** Punch settings (benchmarks shorten sessions to punch many times in a row). */
  punch?: NatServiceOptions['punch'];
}

const config = JSON.parse(process.argv[2] ?? '') as NatPunchConfig;
const say = (m: object) => process.stdout.write(`${JSON.stringify(m)}\n`);
const clock = systemClock;
const scratch = mkdtempSync(path.join(tmpdir(), 'dbs-nat-punch-'));
const keys = generateSigningKeyPair();
const db = openDatabase(path.join(scratch, 'peer.db'));

const dht = await DhtNode.create({ host: config.host, port: config.port, addressQuorum: config.addressQuorum ?? 2, lookupTimeoutMs: 2000 });
const nat = new NatService(dht, {
  portMapper: null,
  ...(config.keepaliveIntervalMs !== undefined ? { keepaliveIntervalMs: config.keepaliveIntervalMs } : {}),
  ...(config.punch ? { punch: config.punch } : {}),
});
const routes = new PunchRoutes();
const introduce = punchingIntroduce(helloClient(dht.rpc), routes, () => nat);
const contracts = new ContractService(dht, db, keys, clock, { ...DEFAULT_CONTRACT_OPTIONS, offered: 1024 * 2 ** 20 }, introduce);
const offer = () => ({ offered: contracts.host.offered, free: contracts.host.freeBytes() });
answerHello(dht.rpc, keys, () => dht.address, offer, (from) => dht.isProven(from));
const discovery = new Discovery({
  dht,
  signing: keys,
  clock,
  introduce,
  offer,
  rendezvous: () => nat.registeredWith(),
  learnRoute: (peer, rendezvous) => routes.learn(peer, rendezvous),
});
const shards = await ShardStore.open(path.join(scratch, 'shards'));
const ledger = {
  get: (id: Uint8Array) => contracts.store.get(id),
  stored: (c: StoredContract) => contracts.store.transition(c.contract.id, ['pending'], 'active', clock.now()),
  abandoned: (c: StoredContract) => contracts.release(c),
};
const tcp = await TransferServer.listen(config.host, dht.address.port, shards, ledger);
// Streams punched to us are served as if accepted on our port (as src/peer/peer.ts does).
nat.acceptPunchedStreams((socket) => tcp.accept(socket));
const transfers = new OwnerTransfers(keys, contracts.store, clock, punchingConnect(connectDirect, routes, () => nat));
nat.start(dht.address.port);
if (config.bootstrap.length > 0) await dht.bootstrap(config.bootstrap);
say({ ready: true, address: formatAddress(dht.address), id: toHex(dht.id), publicKey: toHex(keys.publicKey) });

const stop = async () => {
  await nat.stop();
  await tcp.close();
  await dht.close();
  db.close();
  rmSync(scratch, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());

async function propose(publicKey: Uint8Array): Promise<object> {
  const found = await discovery.findPeer(publicKey);
  if (!found) return { accepted: false, error: 'no peer record' };
  const record = { address: formatAddress(found), rendezvous: (found.rendezvous ?? []).map(formatAddress), verified: found.verified };
  const candidate: Address = { host: found.host, port: found.port };
  const data = randomBytes(2 ** 20);
  const file = path.join(scratch, 'shard');
  writeFileSync(file, data);
  const leaves = Array.from({ length: data.length / LEAF_SIZE }, (_, i) => hashLeaf(data.subarray(i * LEAF_SIZE, (i + 1) * LEAF_SIZE)));
  const digest = digestFromLeaves(leaves, data.length);
  const out: Record<string, unknown> = { accepted: false, record };
  try {
    const res = await contracts.negotiate({ shardHash: digest.hash, shardSize: digest.size, merkleRoot: digest.root, replicas: 1, candidates: [candidate] });
    Object.assign(out, { accepted: res.contracts.length === 1, punched: nat.punchedRecently(candidate) });
    const contract = res.contracts[0]!;
    await transfers.upload(contract, file);
    out.uploaded = true;
    const audit = await transfers.audit(contracts.store.get(contract.contract.id)!, 4);
    out.audit = audit.passed;
  } catch (err) {
    out.error = (err as Error).message;
  }
  return out;
}

async function punchOnce(peer: Address, via: Address[]): Promise<object> {
  const started = performance.now();
  try {
    await nat.punch(peer, via);
  } catch (err) {
    return { stage: 'udp', error: (err as Error).message };
  }
  const udpMs = performance.now() - started;
  try {
    (await nat.openTcp(peer)).destroy();
  } catch (err) {
    return { stage: 'tcp', udpMs, error: (err as Error).message };
  }
  return { udpMs, tcpMs: performance.now() - started - udpMs };
}

for await (const line of createInterface({ input: process.stdin })) {
  const { cmd, to, publicKey, via } = JSON.parse(line) as { cmd: string; to?: string; publicKey?: string; via?: string[] };
  if (cmd === 'status') {
    const self = dht.selfAddress();
    say({
      self: { ...self, address: formatAddress(self.address) },
      reach: nat.status(),
      punching: nat.punching,
      stats: dht.stats(),
      contacts: dht.contacts().map(formatAddress),
      contracts: contracts.contracts().map((c) => ({ role: c.role, state: c.state, counterpartAddress: c.counterpartAddress })),
      transfers: tcp.counters,
    });
  } else if (cmd === 'publish') {
    await discovery.publishRecord().catch(() => {});
    const record = await findPeerRecord(dht, keys.publicKey);
    say({ record: record ? { address: formatAddress(record), rendezvous: (record.rendezvous ?? []).map(formatAddress) } : null });
  } else if (cmd === 'punch') {
    say(await punchOnce(parseAddress(to!), via!.map(parseAddress)));
  } else if (cmd === 'peers') {
    say({ peers: nat.peers() });
  } else if (cmd === 'ping') {
    say({ answered: await dht.ping(parseAddress(to!)).then(() => true, () => false) });
  } else if (cmd === 'propose') {
    say(await propose(fromHex(publicKey!)));
  } else if (cmd === 'stop') {
    await stop();
  }
}
await stop();
