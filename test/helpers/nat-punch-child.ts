/**
 * A home peer for the hole-punching lab test (test/nat-punch.test.ts), in its own process inside
 * a NAT lab namespace: a DHT node with its NAT service (as nat-node-child.ts) plus what the Peer
 * wires on top for punching (src/peer/wiring.ts): a contract service on a scratch database, the
 * HELLO handler, discovery publishing a peer record that names our rendezvous, and the HELLO
 * client that punches first (nat/punch-routes.ts). Prints {"ready", "address", "id", "publicKey"}
 * once joined, then answers one JSON command a line:
 * - status: address, reach (with `registeredWith`), punching counters, contracts;
 * - publish: publishes the peer record now and answers it as the DHT has it;
 * - ping {to}: a DHT PING, {"answered"};
 * - tcp {to}: a TCP stream to a punched peer (simultaneous open); sends a line, answers
 *   {"echoed"} with what the other side's stream handler (an echo here) sent back, or {"error"};
 * - propose {publicKey}: finds the peer's record, punches to it if it names rendezvous, and
 *   proposes a contract for a 1 MiB shard: {"accepted", "record", "refusals", "error"};
 * - stop.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { DhtNode } from '../../src/dht/node.js';
import { type Address, formatAddress, parseAddress } from '../../src/net/address.js';
import { NatService } from '../../src/nat/nat-service.js';
import { PunchRoutes, punchingIntroduce } from '../../src/nat/punch-routes.js';
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
}

const config = JSON.parse(process.argv[2] ?? '') as NatPunchConfig;
const say = (m: object) => process.stdout.write(`${JSON.stringify(m)}\n`);
const clock = systemClock;
const scratch = mkdtempSync(path.join(tmpdir(), 'dbs-nat-punch-'));
const keys = generateSigningKeyPair();
const db = openDatabase(path.join(scratch, 'peer.db'));

const dht = await DhtNode.create({ host: config.host, port: config.port, addressQuorum: config.addressQuorum ?? 2, lookupTimeoutMs: 2000 });
const nat = new NatService(dht, { portMapper: null, ...(config.keepaliveIntervalMs !== undefined ? { keepaliveIntervalMs: config.keepaliveIntervalMs } : {}) });
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
// Streams punched to us: an echo of the first line, then closed (the Peer hands them to its transfer server).
nat.acceptPunchedStreams((socket) => {
  socket.once('data', (d) => socket.end(d));
  socket.on('error', () => socket.destroy());
});
nat.start(dht.address.port);
if (config.bootstrap.length > 0) await dht.bootstrap(config.bootstrap);
say({ ready: true, address: formatAddress(dht.address), id: toHex(dht.id), publicKey: toHex(keys.publicKey) });

const stop = async () => {
  await nat.stop();
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
  try {
    const res = await contracts.negotiate({ shardHash: randomBytes(32), shardSize: 2 ** 20, merkleRoot: randomBytes(32), replicas: 1, candidates: [candidate] });
    return { accepted: res.contracts.length === 1, record, punched: nat.punchedRecently(candidate), refusals: res.refusals.map((r) => r.reason) };
  } catch (err) {
    return { accepted: false, record, error: (err as Error).message };
  }
}

async function echoOverTcp(peer: Address): Promise<object> {
  try {
    const socket = await nat.openTcp(peer);
    const text = await new Promise<string>((resolve, reject) => {
      let got = '';
      socket.on('data', (d) => (got += d.toString()));
      socket.on('end', () => resolve(got));
      socket.on('error', reject);
      socket.write(`hello from ${formatAddress(dht.address)}`);
    });
    socket.destroy();
    return { echoed: text };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  const { cmd, to, publicKey } = JSON.parse(line) as { cmd: string; to?: string; publicKey?: string };
  if (cmd === 'status') {
    const self = dht.selfAddress();
    say({
      self: { ...self, address: formatAddress(self.address) },
      reach: nat.status(),
      punching: nat.punching,
      stats: dht.stats(),
      contracts: contracts.contracts().map((c) => ({ role: c.role, state: c.state, counterpartAddress: c.counterpartAddress })),
    });
  } else if (cmd === 'publish') {
    await discovery.publishRecord().catch(() => {});
    const record = await findPeerRecord(dht, keys.publicKey);
    say({ record: record ? { address: formatAddress(record), rendezvous: (record.rendezvous ?? []).map(formatAddress) } : null });
  } else if (cmd === 'ping') {
    say({ answered: await dht.ping(parseAddress(to!)).then(() => true, () => false) });
  } else if (cmd === 'tcp') {
    say(await echoOverTcp(parseAddress(to!)));
  } else if (cmd === 'propose') {
    say(await propose(fromHex(publicKey!)));
  } else if (cmd === 'stop') {
    await stop();
  }
}
await stop();
