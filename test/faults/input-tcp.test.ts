/**
 * Bad input over TCP against a live peer in its own process: malformed transfer sessions of
 * every kind (random bytes, huge and oversized headers, wrong types, wrong operations,
 * unknown contracts, bad signatures, wrong states, bad uploads, cut uploads and downloads,
 * slowloris senders, early closes), 8 at a time from 16 source addresses. Every session must
 * be counted exactly once in the host's transfer counters, the host must not crash, its
 * memory must stay bounded, and the honest owner's GET and AUDIT must keep working during
 * and after. Fast form: 200 sessions; DBS_FAULTS=long: 1,000. The sessions themselves are made
 * by test/helpers/tcp-sessions.ts.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { writeFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Peer } from '../../src/peer/peer.js';
import { frame, Op, readFrame, TransferError } from '../../src/transfer/frames.js';
import { FuzzTarget, LONG, prng, type TargetStatus } from '../helpers/fuzz.js';
import { LOOPBACK, until } from '../helpers/network.js';
import { GiB, MiB, peerOptions, tempDir } from '../helpers/peers.js';
import { describeShard, type Harness, startHost } from '../helpers/host-harness.js';
import { generateSigningKeyPair } from '../../src/crypto/ed25519.js';
import { TransferClient } from '../../src/transfer/client.js';
import { eventually } from '../helpers/cli.js';
import { answer, EXPECTED, type Fixture, HEADER_MS, IDLE_MS, type Kind, SESSION_KINDS, session } from '../helpers/tcp-sessions.js';

const SESSIONS = LONG ? 1000 : 200;
const CONCURRENCY = 8;
const SOURCES = 16;
const DAY = 86_400_000;

const mib = (n: number) => Math.round((n / MiB) * 10) / 10;

function outcomes(st: TargetStatus): number {
  const t = st.status.transfer;
  return t.puts + t.gets + t.audits + Object.values(t.refused).reduce((a, n) => a + (n ?? 0), 0);
}

describe('bad input: malformed TCP transfer sessions against a live peer process', function () {
  this.timeout(LONG ? 1_800_000 : 300_000);
  let target: FuzzTarget;
  let honest: Peer;
  let fx: Fixture;
  const dataDir = tempDir('dbs-fuzz-target-');
  const work = tempDir('dbs-fuzz-data-');
  const shard = randomBytes(4 * MiB + 17);

  before(async () => {
    target = await FuzzTarget.start({ dataDir, storage: GiB, transfer: { idleTimeoutMs: IDLE_MS, headerTimeoutMs: HEADER_MS } });
    const dht = { ...LOOPBACK, host: undefined, maintenanceIntervalMs: 20 * DAY };
    honest = await Peer.start(peerOptions({ bootstrap: [target.address], maintenanceIntervalMs: 20 * DAY, dht: dht as never }));
    const file = path.join(work, 'shard');
    writeFileSync(file, shard);
    const placed = await honest.placeShard(file, { replicas: 1 });
    expect(placed.contracts).to.have.length(1);
    const pendingData = randomBytes(256 * 1024);
    const d = describeShard(pendingData);
    const negotiated = await honest.negotiate({ shardHash: d.hash, shardSize: d.size, merkleRoot: d.root, replicas: 1, candidates: [target.address] });
    fx = { keys: honest.signing, active: placed.contracts[0]!, pending: negotiated.contracts[0]!, pendingSize: d.size };
  });

  after(async () => {
    if (honest) {
      await honest.stop();
      rmSync(honest.dataDir, { recursive: true, force: true });
    }
    await target?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  /** The honest owner's GET (verified) and AUDIT of its shard on the target. */
  async function honestRound(): Promise<void> {
    const parts: Buffer[] = [];
    for await (const chunk of await honest.fetchShard(fx.active)) parts.push(chunk as Buffer);
    expect(Buffer.concat(parts).equals(shard), 'honest GET').to.equal(true);
    expect((await honest.audit(fx.active, 16)).passed, 'honest AUDIT').to.equal(true);
  }

  it(`counts each of ${SESSIONS.toLocaleString('en')} malformed sessions once, stays up and bounded, and keeps serving the owner`, async () => {
    const rand = prng(Number(process.env['DBS_FUZZ_SEED'] ?? 0x7c9));
    await honestRound();
    const before = await target.gc();
    const got = new Map<string, number>();
    const unexpected: string[] = [];
    let next = 0;
    let honestRounds = 0;
    const honestFailures: string[] = [];
    const worker = async (w: number) => {
      while (next < SESSIONS) {
        const i = next++;
        const kind = SESSION_KINDS[i % SESSION_KINDS.length]!;
        const code = await session(kind, rand, target.address.port, `127.0.0.${10 + ((i * 7 + w) % SOURCES)}`, fx);
        got.set(`${kind}:${code}`, (got.get(`${kind}:${code}`) ?? 0) + 1);
        if (!EXPECTED[kind].includes(code)) unexpected.push(`${kind} got ${code}`);
        // Every 20th session is followed by the honest owner's round trips, amid the others.
        if (i % 20 === 0) {
          await honestRound().then(
            () => void honestRounds++,
            (err: unknown) => void honestFailures.push(String(err)),
          );
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
    await honestRound();
    honestRounds++;
    // A new shard can still be placed and uploaded (a PUT), after all that.
    const fresh = randomBytes(300 * 1024);
    const freshFile = path.join(work, 'fresh');
    writeFileSync(freshFile, fresh);
    expect((await honest.placeShard(freshFile, { replicas: 1 })).contracts, 'honest PUT').to.have.length(1);

    // Every connection ends in exactly one outcome; the last refusals land a moment later.
    let after = await target.gc();
    await eventually(async () => outcomes((after = await target.status())) === after.status.transfer.connections, 'every connection to have one outcome', 20_000);
    after = await target.gc();
    expect(target.alive, target.stderr).to.equal(true);
    expect(unexpected).to.deep.equal([]);
    expect(honestFailures).to.deep.equal([]);
    const t = after.status.transfer;
    const b = before.status.transfer;
    const fromFuzzers = (st: TargetStatus) => Object.entries(st.bySource.tcp).reduce((sum, [ip, n]) => sum + (ip === '127.0.0.1' ? 0 : n), 0);
    expect(fromFuzzers(after) - fromFuzzers(before)).to.equal(SESSIONS);
    const atSocket = (st: TargetStatus) => Object.values(st.bySource.tcp).reduce((a, n) => a + n, 0);
    expect(t.connections - b.connections).to.equal(atSocket(after) - atSocket(before));
    expect(outcomes(after)).to.equal(t.connections);
    expect(after.status.contracts.host).to.equal(3);
    // The slow ones were cut by the idle timeout and the header deadline, not left hanging.
    const kindCount = (k: Kind) => [...got].filter(([key]) => key.startsWith(`${k}:`)).reduce((a, [, n]) => a + n, 0);
    // (A drip delayed past the idle timeout on a loaded machine ends as IDLE_TIMEOUT instead.)
    const cutIdle = (t.refused.IDLE_TIMEOUT ?? 0) - (b.refused.IDLE_TIMEOUT ?? 0);
    const cutSlow = (t.refused.SLOW_SENDER ?? 0) - (b.refused.SLOW_SENDER ?? 0);
    expect(cutIdle + cutSlow).to.be.at.least(kindCount('silent') + kindCount('slowloris'));
    expect(cutSlow).to.be.at.least(1);
    const rss = after.memory.rss - before.memory.rss;
    expect(rss).to.be.lessThan(64 * MiB);
    const refused = Object.fromEntries(Object.entries(t.refused).map(([k, n]) => [k, (n ?? 0) - (b.refused[k as keyof typeof b.refused] ?? 0)]));
    const figures = {
      sessions: SESSIONS,
      connections: t.connections - b.connections,
      outcomes: { puts: t.puts - b.puts, gets: t.gets - b.gets, audits: t.audits - b.audits, refused },
      honestRounds,
      answers: Object.fromEntries([...got].sort()),
      rssMiB: { before: mib(before.memory.rss), after: mib(after.memory.rss) },
      heapMiB: { before: mib(before.memory.heapUsed), after: mib(after.memory.heapUsed) },
    };
    console.log(`      figures: ${JSON.stringify(figures)}`);
  });
});

describe('bad input: transfer framing regressions (in-process host)', function () {
  this.timeout(30_000);
  let host: Harness;
  afterEach(() => host?.close());

  async function rawSession(h: Harness): Promise<net.Socket> {
    const socket = net.connect({ host: '127.0.0.1', port: h.address.port, allowHalfOpen: true });
    socket.on('error', () => {});
    await readFrame(socket, 1024);
    return socket;
  }

  it('refuses a frame cut short by a half-close (1-3 bytes of length, or a short body) instead of crashing or parsing it', async () => {
    host = await startHost({ idleTimeoutMs: 5000 });
    const whole = frame({ op: Op.GET, cid: randomBytes(32), hash: randomBytes(32), size: 1, sig: randomBytes(64) });
    // A short body that is itself valid msgpack: before the fix it was taken as the header.
    const inner = frame({ op: Op.GET });
    const lying = Buffer.concat([Buffer.from([0, 0, 0, inner.length + 20]), inner.subarray(4)]);
    for (const bytes of [whole.subarray(0, 1), whole.subarray(0, 2), whole.subarray(0, 3), whole.subarray(0, 40), lying]) {
      const socket = await rawSession(host);
      socket.end(bytes);
      expect(await answer(socket)).to.equal('CONNECTION_LOST');
      socket.destroy();
    }
    expect(host.server.counters.refused.CONNECTION_LOST).to.equal(5);
    expect(host.server.counters.refused.BAD_HEADER ?? 0).to.equal(0);
  });

  it('does not let a host that sends 2 bytes and closes crash the owner', async () => {
    const liar = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => {});
      s.end(Buffer.from([0, 0]));
    });
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    try {
      const port = (liar.address() as net.AddressInfo).port;
      const owner = new TransferClient(generateSigningKeyPair());
      const target = { id: randomBytes(32), terms: { shardHash: randomBytes(32), shardSize: 10, merkleRoot: randomBytes(32) } };
      const err = await owner.get({ host: '127.0.0.1', port }, target).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(TransferError);
      expect((err as TransferError).code).to.equal('CONNECTION_LOST');
    } finally {
      await new Promise<void>((resolve) => liar.close(() => resolve()));
    }
  });

  it('cuts a client that drips its header byte by byte at the header deadline', async () => {
    host = await startHost({ idleTimeoutMs: 5000, headerTimeoutMs: 300 });
    const socket = await rawSession(host);
    const h = frame({ op: Op.GET, pad: randomBytes(3000) });
    let i = 0;
    const drip = setInterval(() => !socket.destroyed && socket.write(h.subarray(i, ++i)), 50);
    try {
      await until(() => host.server.counters.refused.SLOW_SENDER === 1, 'slowloris cut');
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
    expect(i).to.be.lessThan(h.length);
  });
});
