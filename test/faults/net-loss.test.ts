/**
 * A lossy network under real peers: every peer's UDP socket is wrapped in a FaultyTransport
 * (test/helpers/faulty-transport.ts) that drops 10% of the datagrams it sends and holds back
 * 20% of the rest for up to 150 ms (so later ones overtake them), from a seeded sequence.
 * Nothing in the code under test is switched: it sees a bad link. DHT lookups and STOREs,
 * contract negotiation (HELLO, PROPOSE with retransmits, ACCEPT) and a whole backup with a
 * restore on a new machine must all still complete. TCP (shard transfer) is reliable anyway;
 * the nftables form in net-namespaces.test.ts drops real packets, TCP included.
 *
 * DBS_FAULTS=long: 16 peers, every value looked up by every peer, a bigger tree in smaller
 * shards; the CI form has 6 peers and fewer of each.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Peer, type PeerOptions } from '../../src/peer/peer.js';
import { toHex } from '../../src/util/bytes.js';
import { ShardHasher } from '../../src/storage/merkle.js';
import { FaultyTransport, type Faults } from '../helpers/faulty-transport.js';
import { MiB, peerOptions, stopAll, tempDir, LONG } from '../helpers/peers.js';
import { describeTree, makeSampleTree } from '../helpers/trees.js';

const PEERS = LONG ? 16 : 6;
/** Values each peer looks up (of the others'), negotiations, shard size of the backup. */
const GETS = LONG ? PEERS - 1 : 3;
const ROUNDS = LONG ? 4 : 2;
const SHARD = LONG ? 1 * MiB : 4 * MiB;
const LOSS: Omit<Faults, 'seed'> = { drop: 0.1, delay: 0.2, maxDelayMs: 150 };

describe(`a lossy network: ${PEERS} peers, ${LOSS.drop * 100}% of datagrams dropped, ${LOSS.delay * 100}% delayed up to ${LOSS.maxDelayMs} ms`, function () {
  this.timeout(LONG ? 600_000 : 120_000);
  const wires = new Map<Peer, FaultyTransport>();
  let peers: Peer[] = [];
  let seed = 1000;

  /** A peer whose UDP socket loses and delays datagrams; the production retransmit count (1). */
  async function start(over: Partial<PeerOptions> = {}): Promise<Peer> {
    const mySeed = seed++;
    let wire: FaultyTransport | undefined;
    const peer = await Peer.start(
      peerOptions({
        dht: { maxPerIpPerBucket: Infinity, rateLimit: null, requestTimeoutMs: 750, lookupTimeoutMs: 750, retries: 1 },
        backup: { shardSize: SHARD, chunkSizes: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 } },
        // Every peer shares 127.0.0.0/24: the per-prefix allowance is not what is tested here.
        contracts: { allowance: 2 ** 40 },
        wrapTransport: (udp) => (wire = new FaultyTransport(udp, { ...LOSS, seed: mySeed })),
        ...over,
      }),
    );
    wires.set(peer, wire!);
    peers.push(peer);
    return peer;
  }

  before(async () => {
    const first = await start();
    for (let i = 1; i < PEERS; i++) await start({ bootstrap: [first.address] });
  });
  after(() => stopAll(peers));

  it('DHT values stored by every peer are found by the others', async () => {
    const puts = await Promise.all(peers.map((p) => p.dht.put(randomBytes(64))));
    // Confirmed by at least one other node, not only by the putting node itself.
    for (const put of puts) expect(put.stored, 'STORE confirmations').to.be.greaterThan(1);
    const keys = puts.map((p) => p.key);
    const misses: string[] = [];
    await Promise.all(
      peers.map(async (p, i) => {
        for (let n = 1; n <= GETS; n++) {
          const j = (i + n) % peers.length;
          if (!(await p.dht.get(keys[j]!))) misses.push(`${i} -> ${j}`);
        }
      }),
    );
    expect(misses).to.deep.equal([]);
  });

  it('contract negotiation gets every replica signed, and both sides record the same contracts', async () => {
    const owner = peers[1]!;
    for (let round = 0; round < ROUNDS; round++) {
      const h = new ShardHasher();
      h.update(randomBytes(100_000));
      const d = h.digest();
      const result = await owner.negotiate({ shardHash: d.hash, shardSize: d.size, merkleRoot: d.root, replicas: 3 });
      expect(result.shortfall, `round ${round}`).to.equal(0);
      expect(result.contracts).to.have.length(3);
      for (const c of result.contracts) {
        const host = peers.find((p) => Buffer.from(p.publicKey).equals(c.counterpart))!;
        const theirs = host.contracts().find((x) => x.id === toHex(c.contract.id));
        expect(theirs?.state, 'the host holds the contract the owner kept').to.equal('pending');
      }
    }
  });

  it('a backup completes with every replica, and a new machine restores it byte for byte', async () => {
    const source = tempDir('dbs-loss-src-');
    makeSampleTree(source, LONG ? 4 : 0);
    const owner = peers[2]!;
    const result = await owner.backup(source, { replicas: 3 });
    expect(result.shortfall).to.equal(0);

    const fresh = await start({ recoveryKey: owner.recoveryKey, bootstrap: [peers[0]!.address] });
    const snapshots = await fresh.snapshots();
    expect(snapshots.map((s) => s.id)).to.include(result.id);
    const dest = path.join(tempDir('dbs-loss-dest-'), 'restored');
    const restored = await fresh.restore(result.id, dest);
    expect(restored.incomplete).to.deep.equal([]);
    expect(describeTree(dest)).to.deep.equal(describeTree(source));
    rmSync(source, { recursive: true, force: true });
    rmSync(path.dirname(dest), { recursive: true, force: true });
  });

  it('the faults really happened: datagrams were dropped and delayed, requests were retransmitted', () => {
    const counters = [...wires.values()].map((w) => w.counters);
    const sent = counters.reduce((s, c) => s + c.sent, 0);
    const dropped = counters.reduce((s, c) => s + c.dropped, 0);
    const delayed = counters.reduce((s, c) => s + c.delayed, 0);
    expect(dropped / sent).to.be.within(0.07, 0.13);
    expect(delayed).to.be.greaterThan(0);
    expect(peers.reduce((s, p) => s + p.dht.stats().retransmits, 0)).to.be.greaterThan(0);
  });
});
