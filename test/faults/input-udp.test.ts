/**
 * Bad input over UDP against a live peer in its own process: valid messages of every type,
 * mutated at the byte and the field level, random bytes, truncations, huge fields, wrong
 * types, from 16 source addresses (so the per-source rate limit lets plenty reach the
 * handlers; the rest is rate-limited, which is counted too). Meanwhile and afterwards an honest
 * peer's HELLO, lookup and PUT+GET keep working. Fast form: 20,000 datagrams; DBS_FAULTS=long:
 * 100,000.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { rmSync } from 'node:fs';
import { DhtNode } from '../../src/dht/node.js';
import type { Address } from '../../src/net/address.js';
import { bytesEqual, toHex } from '../../src/util/bytes.js';
import { nodeIdFromAddress } from '../../src/net/node-id.js';
import { FindNode, Nodes } from '../../src/dht/messages.js';
import { Peer } from '../../src/peer/peer.js';
import { decodeMessage, encodeMessage } from '../../src/wire/codec.js';
import { DatagramFuzzer, type FuzzContext, FuzzTarget, LONG, prng, type TargetStatus } from '../helpers/fuzz.js';
import { LOOPBACK, until } from '../helpers/network.js';
import { GiB, MiB, peerOptions, tempDir } from '../helpers/peers.js';

const DATAGRAMS = LONG ? 100_000 : 20_000;
// 16 sources at 100/s each stay under the target's overall budget (20 sources' worth): past that, a
// flood from many addresses starves honest requests too (docs/security.md, limits).
const SOURCES = 16;
/** Datagrams in flight at most: well under what the target's socket buffer holds. */
const BATCH = 64;
const DAY = 86_400_000;
const CLASSIFIED = ['requestsHandled', 'responsesAccepted', 'droppedMalformed', 'droppedSpoofed', 'droppedUnexpected', 'rateLimited'] as const;

interface FuzzSocket {
  socket: dgram.Socket;
  address: Address;
  ctx: FuzzContext;
}

async function openFuzzSocket(host: string, target: FuzzTarget, targetId: Uint8Array): Promise<FuzzSocket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  const address = { host, port: socket.address().port };
  const senderId = nodeIdFromAddress(address);
  // An honest FIND_NODE first, for a write token the target issued to this address.
  const tx = randomBytes(8);
  const token = await new Promise<Uint8Array>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no NODES reply to ${host}`)), 10_000);
    const onMessage = (msg: Buffer) => {
      try {
        const env = decodeMessage(msg);
        if (env.type !== Nodes.type || !Buffer.from(env.txid).equals(tx)) return;
        clearTimeout(timer);
        socket.off('message', onMessage);
        resolve((env.body as { token: Uint8Array }).token);
      } catch {
        // Not for us.
      }
    };
    socket.on('message', onMessage);
    socket.send(encodeMessage(FindNode, tx, senderId, { target: randomBytes(20) }), target.address.port, target.address.host);
  });
  // Replies and the target's verification PINGs are read and ignored: the fuzzer never answers.
  socket.on('message', () => {});
  return { socket, address, ctx: { senderId, targetId, targetKey: target.publicKey, token } };
}

function send(s: FuzzSocket, datagram: Uint8Array, to: Address): Promise<void> {
  return new Promise((resolve) => s.socket.send(datagram, to.port, to.host, () => resolve()));
}

const mib = (n: number) => Math.round((n / MiB) * 10) / 10;

describe('bad input: random and mutated UDP datagrams against a live peer process', function () {
  this.timeout(LONG ? 1_800_000 : 300_000);
  let target: FuzzTarget;
  let honest: Peer;
  let reader: DhtNode;
  const sockets: FuzzSocket[] = [];
  const dataDir = tempDir('dbs-fuzz-target-');

  before(async () => {
    target = await FuzzTarget.start({ dataDir, storage: GiB });
    // Neither honest node keeps values, so a GET can only be answered by the target.
    const dht = { ...LOOPBACK, host: undefined, maxValues: 0, maintenanceIntervalMs: 20 * DAY };
    honest = await Peer.start(peerOptions({ bootstrap: [target.address], maintenanceIntervalMs: 20 * DAY, dht: dht as never }));
    reader = await DhtNode.create({ ...LOOPBACK, maxValues: 0, maintenanceIntervalMs: 20 * DAY, bootstrap: [target.address] });
    const targetId = nodeIdFromAddress(target.address);
    for (let i = 0; i < SOURCES; i++) sockets.push(await openFuzzSocket(`127.0.0.${10 + i}`, target, targetId));
  });

  after(async () => {
    for (const s of sockets) s.socket.close();
    await reader?.close();
    if (honest) {
      await honest.stop();
      rmSync(honest.dataDir, { recursive: true, force: true });
    }
    await target?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** One honest round trip of each kind; throws if any fails. */
  async function honestRound(): Promise<void> {
    const hello = await honest.hello(target.address);
    expect(toHex(hello.publicKey)).to.equal(toHex(target.publicKey));
    const found = await honest.dht.findNode(randomBytes(20));
    expect(found.some((c) => bytesEqual(c.id, nodeIdFromAddress(target.address))), 'lookup finds the target').to.equal(true);
    const value = randomBytes(100);
    const put = await honest.dht.put(value);
    expect(put.stored).to.be.at.least(1);
    const got = await reader.get(put.key);
    expect(got && Buffer.from(got.value).equals(value), `GET of a value the target stored (${put.stored} stored)`).to.equal(true);
  }

  it(`survives ${DATAGRAMS.toLocaleString('en')} of them, counts every one, keeps memory bounded and serves honest peers throughout`, async () => {
    const seed = Number(process.env['DBS_FUZZ_SEED'] ?? 0x5eed);
    const rand = prng(seed);
    const fuzzers = sockets.map((s) => new DatagramFuzzer(rand, s.ctx));
    const fuzzSources = new Set(sockets.map((s) => s.address.host));
    const fromFuzzers = (st: { bySource: { udp: Record<string, number> } }) =>
      Object.entries(st.bySource.udp).reduce((sum, [ip, n]) => sum + (fuzzSources.has(ip) ? n : 0), 0);

    await honestRound();
    const before = await target.gc();
    const fuzzBefore = fromFuzzers(before);

    let sent = 0;
    let honestRounds = 0;
    const honestFailures: string[] = [];
    let inFlight: Promise<void> | null = null;
    while (sent < DATAGRAMS) {
      for (let i = 0; i < BATCH && sent < DATAGRAMS; i++, sent++) {
        const k = rand.int(SOURCES);
        await send(sockets[k]!, fuzzers[k]!.next().datagram, target.address);
      }
      // Honest traffic runs alongside, one round at a time and at a modest pace (a round is
      // about ten requests; the honest nodes share one source address and its 100/s budget).
      if (!inFlight && (sent / BATCH) % 16 === 0) {
        inFlight = honestRound().then(
          () => void honestRounds++,
          (err: unknown) => void honestFailures.push(String(err)),
        );
        void inFlight.finally(() => (inFlight = null));
      }
      // Let the target drain the batch before the next one, so the kernel drops nothing.
      const giveUp = Date.now() + 60_000;
      for (;;) {
        const now = await target.received();
        if (fromFuzzers(now) - fuzzBefore >= sent) break;
        if (Date.now() > giveUp) throw new Error(`the target saw ${fromFuzzers(now) - fuzzBefore} of ${sent} datagrams (lost, or the target is stuck)`);
      }
    }
    await inFlight;
    await honestRound();
    honestRounds++;

    const after = await target.gc();
    expect(target.alive, target.stderr).to.equal(true);
    const d = after.status.dht;
    const b = before.status.dht;
    // Every datagram from the fuzzers arrived, and the endpoint saw exactly what the sockets did.
    expect(fromFuzzers(after) - fuzzBefore).to.equal(DATAGRAMS);
    const atSockets = (st: TargetStatus) => Object.values(st.bySource.udp).reduce((a, n) => a + n, 0);
    expect(d.received - b.received).to.equal(atSockets(after) - atSockets(before));
    // ... and each landed in exactly one counter.
    expect(CLASSIFIED.reduce((sum, k) => sum + d[k], 0)).to.equal(d.received);
    const delta = Object.fromEntries(CLASSIFIED.map((k) => [k, d[k] - b[k]]));
    expect(delta['droppedMalformed']).to.be.greaterThan(DATAGRAMS / 4);
    expect(delta['droppedSpoofed']).to.be.greaterThan(DATAGRAMS / 50);
    expect(delta['droppedUnexpected']).to.be.greaterThan(DATAGRAMS / 50);
    expect(delta['requestsHandled']).to.be.greaterThan(DATAGRAMS / 20);
    expect(d.handlerErrors).to.equal(0);
    // Honest peers were served throughout.
    expect(honestFailures).to.deep.equal([]);
    expect(honestRounds).to.be.at.least(3);
    // Memory stays bounded: what grows is bounded by the value store and contract limits.
    const rss = after.memory.rss - before.memory.rss;
    const heap = after.memory.heapUsed - before.memory.heapUsed;
    expect(rss).to.be.lessThan(64 * MiB);
    expect(heap).to.be.lessThan(16 * MiB);
    const figures = {
      datagrams: DATAGRAMS,
      seed,
      counters: delta,
      storesRefused: d.storesRefused - b.storesRefused,
      values: d.values,
      contracts: { accepted: after.host.accepted - before.host.accepted, rejected: after.host.rejected },
      honestRounds,
      rssMiB: { before: mib(before.memory.rss), after: mib(after.memory.rss) },
      heapMiB: { before: mib(before.memory.heapUsed), after: mib(after.memory.heapUsed) },
    };
    console.log(`      figures: ${JSON.stringify(figures)}`);
  });
});
