/**
 * Sybil pressure: many identities from one address. Node IDs come from host:port, so one
 * machine can mint thousands by opening ports; keys are free to generate. Neither may buy it
 * more than one machine's share: at most two contacts per IP (IPv6: per /64) in any routing
 * bucket, and one reciprocity allowance per network prefix (IPv4 /24, IPv6 /48), charged to
 * the prefix each contract was accepted from.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { generateSigningKeyPair, type SigningKeyPair } from '../../src/crypto/ed25519.js';
import { encodeTerms, propose } from '../../src/contracts/contract.js';
import { Accept, Propose } from '../../src/contracts/messages.js';
import { RejectReason } from '../../src/contracts/policy.js';
import { commonPrefixLength, randomIdInBucket } from '../../src/dht/id.js';
import { formatAddress } from '../../src/net/address.js';
import { toHex } from '../../src/util/bytes.js';
import { FindNode, Nodes, Ping, Pong } from '../../src/dht/messages.js';
import { DhtNode } from '../../src/dht/node.js';
import { RoutingTable } from '../../src/dht/routing-table.js';
import { sourceKey } from '../../src/util/ip.js';
import { Peer } from '../../src/peer/peer.js';
import { RawUdp } from '../helpers/liars.js';
import { closeAll, LOOPBACK, until } from '../helpers/network.js';
import { MiB, peerOptions, stopAll } from '../helpers/peers.js';

const SYBILS = 200;
const SYBIL_IP = '127.0.0.9';

describe('sybil pressure: many identities from one address', function () {
  this.timeout(60_000);

  describe('on the routing table of a node with the production limits', () => {
    let target: DhtNode;
    let honest: DhtNode[] = [];
    const sybils: RawUdp[] = [];
    before(async () => {
      // Production per-IP limit (2 per bucket) and rate limit; only the timeouts are loopback's.
      target = await DhtNode.create({ host: '127.0.0.1', lookupTimeoutMs: 2000, requestTimeoutMs: 2000 });
      for (let i = 0; i < SYBILS; i++) {
        const s = await RawUdp.open(SYBIL_IP);
        // Every sybil answers like a live node, so each one passes the target's verification PING.
        s.autoReply = (e) => (e.type === Ping.type ? { spec: Pong, body: {} } : e.type === FindNode.type ? { spec: Nodes, body: { nodes: [], token: randomBytes(8) } } : undefined);
        sybils.push(s);
      }
    });
    after(async () => {
      await Promise.all(sybils.map((s) => s.close()));
      await closeAll([target, ...honest]);
    });

    it(`keeps ${SYBILS} node IDs from one IP to two per bucket, while nodes on other IPs get in`, async () => {
      // Each sybil asks the target something: the target PINGs each stranger back and adds
      // those that answer, if their bucket has room for one more from that IP.
      for (const s of sybils) s.send(FindNode, { target: randomBytes(20) }, target.address);
      await until(() => sybils.filter((s) => s.ofType(Ping).length > 0 || s.ofType(Nodes).length > 0).length === SYBILS, 'every sybil answered');
      await until(() => target.stats().requestsInFlight === 0, 'verifications done');
      // Ten honest nodes, each on its own address, join through the target.
      honest = [];
      for (let i = 0; i < 10; i++) honest.push(await DhtNode.create({ ...LOOPBACK, host: `127.0.0.${20 + i}`, bootstrap: [target.address] }));

      const inTable = target.contacts();
      const fromSybilIp = inTable.filter((c) => c.host === SYBIL_IP);
      const perBucket = new Map<number, number>();
      for (const c of fromSybilIp) perBucket.set(commonPrefixLength(target.id, c.id), (perBucket.get(commonPrefixLength(target.id, c.id)) ?? 0) + 1);
      expect(Math.max(...perBucket.values())).to.equal(2);
      expect(fromSybilIp.length).to.be.at.most(2 * perBucket.size);
      expect(fromSybilIp.length).to.be.lessThan(SYBILS / 10);
      // Every honest node is in the table.
      const known = new Set(inTable.map((c) => formatAddress(c)));
      for (const h of honest) expect(known.has(formatAddress(h.address)), formatAddress(h.address)).to.equal(true);
      console.log(`      figures: ${JSON.stringify({ sybils: SYBILS, sybilsInTable: fromSybilIp.length, buckets: perBucket.size, honestInTable: honest.length, tableSize: inTable.length })}`);
    });

    it('caps an IPv6 /64 the same way, whatever the addresses inside it', () => {
      const t = new RoutingTable(target.id, { k: 20, maxPerIpPerBucket: 2, maxFailures: 2, freshForMs: 0, onBucketFull: () => {} });
      const outcomes = new Map<string, number>();
      for (let i = 1; i <= SYBILS; i++) {
        const host = `2001:db8:1:2::${i.toString(16)}`;
        const id = randomBytes(20);
        const r = t.add({ id, host, port: 4000 + i }, 1);
        outcomes.set(r, (outcomes.get(r) ?? 0) + 1);
      }
      const perBucket = new Map<number, number>();
      for (const c of t.all()) perBucket.set(commonPrefixLength(target.id, c.id), (perBucket.get(commonPrefixLength(target.id, c.id)) ?? 0) + 1);
      expect(Math.max(...perBucket.values())).to.equal(2);
      expect(new Set(t.all().map((c) => sourceKey(c.host)))).to.deep.equal(new Set(['2001:db8:1:2::/64']));
      expect(outcomes.get('ip-limit')).to.be.greaterThan(SYBILS / 2);
      // Another /64 is another source: welcome in a bucket the first /64 has filled its share of.
      const [full] = [...perBucket].find(([, n]) => n === 2)!;
      const other = { id: randomIdInBucket(target.id, full), host: '2001:db8:1:3::1', port: 1 };
      expect(t.add({ id: randomIdInBucket(target.id, full), host: '2001:db8:1:2::ffff', port: 2 }, 1)).to.equal('ip-limit');
      expect(t.add(other, 1)).to.equal('added');
    });
  });

  describe("on a host's reciprocity allowance", () => {
    let host: Peer;
    const sockets: RawUdp[] = [];
    const ALLOWANCE = 10 * MiB;
    before(async () => {
      host = await Peer.start(peerOptions({ contracts: { allowance: ALLOWANCE } }));
    });
    after(async () => {
      await Promise.all(sockets.map((s) => s.close()));
      await stopAll([host]);
    });

    async function proposeFrom(ip: string, keys: SigningKeyPair, size: number): Promise<'ACCEPT' | number> {
      const s = await RawUdp.open(ip);
      sockets.push(s);
      const c = propose(keys, {
        host: host.publicKey,
        shardHash: randomBytes(32),
        shardSize: size,
        merkleRoot: randomBytes(32),
        durationSeconds: 86_400,
        auditIntervalSeconds: 3600,
        auditSamples: 8,
        ownerOffer: 2 ** 30,
        nowSeconds: Math.floor(Date.now() / 1000),
      });
      const answer = await s.ask(Propose, { terms: encodeTerms(c.terms), ownerSignature: c.ownerSignature }, host.address);
      return answer.type === Accept.type ? 'ACCEPT' : (answer.body as { reason: number }).reason;
    }

    it('gives twenty keys on one /24 the credit of one, charged where each contract was accepted', async () => {
      const keys = Array.from({ length: 20 }, () => generateSigningKeyPair());
      // Twenty identities, each on its own address and port of 127.0.0.0/24, each asking for 3 MiB.
      const answers: ('ACCEPT' | number)[] = [];
      for (let i = 0; i < keys.length; i++) answers.push(await proposeFrom(`127.0.0.${100 + i}`, keys[i]!, 3 * MiB));
      expect(answers.slice(0, 3)).to.deep.equal(['ACCEPT', 'ACCEPT', 'ACCEPT']);
      expect(answers.slice(3).every((a) => a === RejectReason.UNBALANCED)).to.equal(true);
      expect(host.status().storage.promised).to.equal(9 * MiB);

      // A key on another /24 has its own allowance.
      expect(await proposeFrom('127.0.1.5', generateSigningKeyPair(), 3 * MiB)).to.equal('ACCEPT');
      // One of the credited keys moves to a third network and asks again: its own debt (6 MiB)
      // is within the allowance there, so it is accepted...
      expect(await proposeFrom('127.0.2.7', keys[0]!, 3 * MiB)).to.equal('ACCEPT');
      // ... but moving freed nothing at home: the first /24 is still charged for all of it.
      expect(await proposeFrom('127.0.0.200', generateSigningKeyPair(), 1 * MiB)).to.equal(RejectReason.UNBALANCED);
      const ledger = host.ledger().filter((l) => l.keptForThem > 0);
      expect(ledger.map((l) => l.keptForThem).reduce((a, b) => a + b, 0)).to.equal(15 * MiB);
      expect(ledger.find((l) => l.counterpart === toHex(keys[0]!.publicKey))!.keptForThem).to.equal(6 * MiB);
    });
  });
});
