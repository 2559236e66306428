import { expect } from 'chai';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { DhtNode } from '../src/dht/node.js';
import type { Address } from '../src/net/address.js';
import { compareDistance } from '../src/dht/id.js';
import { nodeIdFromAddress } from '../src/net/node-id.js';
import { toHex } from '../src/util/bytes.js';
import { encodeMessage } from '../src/wire/codec.js';
import { ErrorCode, FindNode, Nodes, Ping, Pong, Store, Stored } from '../src/dht/messages.js';
import { RpcError } from '../src/rpc/rpc.js';
import { generateSigningKeyPair, signEd25519 } from '../src/crypto/ed25519.js';
import { type DhtRecord, immutableKey, mutableKey, signedPayload } from '../src/dht/records.js';
import { ManualClock } from '../src/util/clock.js';
import { closeAll, LOOPBACK, RawPeer, startNetwork, until } from './helpers/network.js';

function sameIds(a: { id: Uint8Array }[], b: { id: Uint8Array }[]): boolean {
  return a.map((c) => toHex(c.id)).join() === b.map((c) => toHex(c.id)).join();
}

/** Sends a STORE by hand (with a valid write token) and returns the outcome. */
async function storeDirect(from: DhtNode, to: Address, key: Uint8Array, record: DhtRecord): Promise<'stored' | number> {
  const { body } = await from.rpc.request(to, FindNode, { target: key }, Nodes);
  try {
    await from.rpc.request(to, Store, { key, token: body.token, ttl: 3600, record }, Stored);
    return 'stored';
  } catch (err) {
    if (err instanceof RpcError && err.code === 'REMOTE') return err.remoteCode!;
    throw err;
  }
}

describe('DHT on real UDP sockets', function () {
  describe('a 64-node network', function () {
    this.timeout(60_000);
    let nodes: DhtNode[] = [];
    before(async () => {
      nodes = await startNetwork(64);
    });
    after(() => closeAll(nodes));

    it('gives every node an ID that is SHA-1 of its bound address', () => {
      for (const n of nodes) expect(toHex(n.id)).to.equal(toHex(nodeIdFromAddress(n.address)));
    });

    it('finds exactly the true 20 closest for at least 99% of 200 random targets', async () => {
      let exact = 0;
      for (let i = 0; i < 200; i++) {
        const target = randomBytes(20);
        const from = nodes[i % nodes.length]!;
        const truth = nodes.filter((n) => n !== from).sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, 20);
        const result = await from.lookup(target);
        if (sameIds(result.contacts, truth)) exact++;
        expect(result.rounds).to.be.at.least(1);
        expect(result.messages).to.be.at.least(20);
      }
      expect(exact).to.be.at.least(198);
    });

    it('stores and finds an immutable value across nodes', async () => {
      const value = Buffer.from(`snapshot pointer ${toHex(randomBytes(8))}`);
      const put = await nodes[5]!.put(value);
      expect(put.stored).to.be.at.least(20);
      const got = await nodes[40]!.get(put.key);
      expect(Buffer.from(got!.value).equals(value)).to.equal(true);
      expect(await nodes[41]!.get(randomBytes(20))).to.equal(null);
    });

    it('stores mutable records, keeps the highest sequence and refuses forgeries and rollbacks', async () => {
      const owner = generateSigningKeyPair();
      const salt = Buffer.from('peer-record');
      const v1 = await nodes[7]!.putSigned(owner, Buffer.from('at 127.0.0.1:1111'), { salt });
      expect(v1.seq).to.equal(1);
      const v2 = await nodes[8]!.putSigned(owner, Buffer.from('at 127.0.0.1:2222'), { salt });
      expect(v2.seq).to.equal(2);
      const key = mutableKey(owner.publicKey, salt);
      const got = await nodes[50]!.get(key);
      expect(Buffer.from(got!.value).toString()).to.equal('at 127.0.0.1:2222');
      expect(got!.seq).to.equal(2);

      const holder = v2.contacts[0]!;
      const forger = generateSigningKeyPair();
      const forged: DhtRecord = { ...got!, value: Buffer.from('at 6.6.6.6:666'), seq: 3, signature: signEd25519(forger, signedPayload(3, Buffer.from('at 6.6.6.6:666'), salt)) };
      expect(await storeDirect(nodes[9]!, holder, key, forged)).to.equal(ErrorCode.BAD_SIGNATURE);
      const rollback: DhtRecord = { ...got!, value: Buffer.from('old'), seq: 1, signature: signEd25519(owner, signedPayload(1, Buffer.from('old'), salt)) };
      expect(await storeDirect(nodes[9]!, holder, key, rollback)).to.equal(ErrorCode.SEQ_TOO_LOW);
      const wrongKey: DhtRecord = { ...got!, publicKey: forger.publicKey };
      expect(await storeDirect(nodes[9]!, holder, key, wrongKey)).to.equal(ErrorCode.KEY_MISMATCH);
      const again = await nodes[51]!.get(key);
      expect(Buffer.from(again!.value).toString()).to.equal('at 127.0.0.1:2222');
    });

    it('refuses a STORE without a valid write token', async () => {
      const value = Buffer.from('tokenless');
      const err = await nodes[3]!.rpc.request(nodes[4]!.address, Store, { key: immutableKey(value), token: randomBytes(8), ttl: 60, record: { value } }, Stored).catch((e) => e);
      expect(err).to.be.instanceOf(RpcError);
      expect((err as RpcError).remoteCode).to.equal(ErrorCode.BAD_TOKEN);
    });
  });

  describe('membership', function () {
    this.timeout(20_000);
    let nodes: DhtNode[] = [];
    const raws: RawPeer[] = [];
    afterEach(async () => {
      await closeAll(nodes);
      await Promise.all(raws.splice(0).map((r) => r.close()));
    });

    it('drops a node that closed from the tables of nodes that ask it', async () => {
      nodes = await startNetwork(10, { lookupTimeoutMs: 300, requestTimeoutMs: 300 });
      const [a, gone] = [nodes[0]!, nodes[9]!];
      expect(a.contacts().map((c) => toHex(c.id))).to.include(toHex(gone.id));
      await gone.close();
      await a.lookup(gone.id);
      await a.lookup(gone.id);
      expect(a.contacts().map((c) => toHex(c.id))).not.to.include(toHex(gone.id));
      expect(a.stats().timeouts).to.be.at.least(2);
    });

    it('drops and counts a message whose sender ID does not match its address', async () => {
      nodes = await startNetwork(2);
      const raw = await RawPeer.open();
      raws.push(raw);
      const target = nodes[0]!;
      const before = target.stats().droppedSpoofed;
      await raw.send(encodeMessage(Ping, randomBytes(8), nodes[1]!.id, {}), target.address);
      await raw.send(encodeMessage(Ping, randomBytes(8), raw.id, {}), target.address);
      await until(() => raw.ofType(Pong).length >= 1, 'PONG');
      expect(target.stats().droppedSpoofed).to.equal(before + 1);
      expect(raw.ofType(Pong)).to.have.length(1);
    });

    it('adds a contact only after it answered us directly; third-party referrals that never answer stay out', async () => {
      nodes = [await DhtNode.create(LOOPBACK)];
      const a = nodes[0]!;
      const raw = await RawPeer.open();
      raws.push(raw);
      const deadSocket = dgram.createSocket('udp4');
      await new Promise<void>((r) => deadSocket.bind(0, '127.0.0.1', r));
      const dead = { host: '127.0.0.1', port: deadSocket.address().port };
      await new Promise<void>((r) => deadSocket.close(() => r()));

      // The raw peer pings A; A answers and pings back to verify, but we do not answer yet.
      await raw.send(encodeMessage(Ping, randomBytes(8), raw.id, {}), a.address);
      await until(() => raw.ofType(Ping).length >= 1, 'verification PING');
      expect(a.contacts()).to.have.length(0);

      // Now answer the verification PING: A adds us.
      const ping = raw.ofType(Ping)[0]!;
      await raw.send(encodeMessage(Pong, ping.txid, raw.id, {}), a.address);
      await until(() => a.contacts().length === 1, 'contact added');

      // We refer A to a node that never answers: it must not enter A's table.
      raw.autoReply = (env) => (env.type === FindNode.type ? { spec: Nodes, body: { nodes: [dead], token: randomBytes(8) } } : { spec: Pong, body: {} });
      const result = await a.lookup(randomBytes(20));
      expect(result.failures).to.equal(1);
      expect(a.contacts().map((c) => c.port)).to.deep.equal([raw.address.port]);
    });

    it('rate-limits requests per source IP and counts them', async () => {
      const clock = new ManualClock();
      nodes = [await DhtNode.create({ ...LOOPBACK, clock, rateLimit: { perSecond: 10, burst: 20 } })];
      const raw = await RawPeer.open();
      raws.push(raw);
      const node = nodes[0]!;
      for (let i = 0; i < 50; i++) await raw.send(encodeMessage(Ping, randomBytes(8), raw.id, {}), node.address);
      await until(() => node.stats().received >= 50, '50 datagrams received');
      expect(node.stats().requestsHandled).to.equal(20);
      expect(node.stats().rateLimited).to.equal(30);
      clock.advance(1000);
      for (let i = 0; i < 15; i++) await raw.send(encodeMessage(Ping, randomBytes(8), raw.id, {}), node.address);
      await until(() => node.stats().received >= 65, '65 datagrams received');
      expect(node.stats().requestsHandled).to.equal(30);
      expect(node.stats().rateLimited).to.equal(35);
      await until(() => raw.ofType(Pong).length === 30, '30 PONGs');
    });
  });

  describe('IPv6', function () {
    this.timeout(20_000);
    let nodes: DhtNode[] = [];
    after(() => closeAll(nodes));

    it('runs a network on [::1] with IDs from the bracketed address', async function () {
      const probe = dgram.createSocket({ type: 'udp6', ipv6Only: true });
      const bindError = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
        probe.once('error', resolve);
        probe.bind(0, '::1', () => resolve(null));
      });
      await new Promise<void>((r) => probe.close(() => r()));
      if (bindError && ['EADDRNOTAVAIL', 'EAFNOSUPPORT'].includes(bindError.code ?? '')) {
        console.log(`      (skipped: this machine has no IPv6 loopback: ${bindError.code})`);
        this.skip();
      }
      nodes = await startNetwork(6, { host: '::1' });
      for (const n of nodes) expect(toHex(n.id)).to.equal(toHex(nodeIdFromAddress({ host: '::1', port: n.address.port })));
      const found = await nodes[4]!.findNode(nodes[1]!.id);
      expect(toHex(found[0]!.id)).to.equal(toHex(nodes[1]!.id));
      expect(found).to.have.length(5);
    });
  });
});
