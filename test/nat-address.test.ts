/**
 * Address discovery and read-only (client-only) nodes on real UDP over loopback. Loopback is
 * all of 127/8 on Linux, so public nodes on 127.0.1.1, 127.0.2.1 and 127.0.3.1 are three network
 * prefixes (/24s), while a node bound to 0.0.0.0 sends from 127.0.0.1: the address the others
 * observe and the one it must adopt.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Packr } from 'msgpackr';
import { DhtNode, type SelfAddressInfo } from '../src/dht/node.js';
import { FindNode, Nodes, Ping, Pong, Value } from '../src/dht/messages.js';
import { MAX_SALT_BYTES, MAX_VALUE_BYTES } from '../src/dht/records.js';
import { nodeIdFromAddress } from '../src/net/node-id.js';
import { formatAddress } from '../src/net/address.js';
import { toHex } from '../src/util/bytes.js';
import { decodeMessage, encodeMessage, MAX_DATAGRAM_BYTES } from '../src/wire/codec.js';
import { closeAll, LOOPBACK, RawPeer, until } from './helpers/network.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const encodeRaw = (map: Record<string, unknown>): Uint8Array => packr.pack(map);
const txid = randomBytes(8);
const id = randomBytes(20);
const PUBLIC_HOSTS = ['127.0.1.1', '127.0.2.1', '127.0.3.1'];

async function publicNodes(hosts: string[]): Promise<DhtNode[]> {
  const nodes: DhtNode[] = [];
  for (const host of hosts) nodes.push(await DhtNode.create({ ...LOOPBACK, host, bootstrap: nodes.length ? [nodes[0]!.address] : [] }));
  return nodes;
}

function knows(node: DhtNode, other: Uint8Array): boolean {
  return node.contacts().some((c) => toHex(c.id) === toHex(other));
}

describe('wire: the observed address (ip) and the read-only flag (ro)', () => {
  it('carries ip on responses and ro on requests, validated', () => {
    const pong = decodeMessage(encodeMessage(Pong, txid, id, {}, { observed: { host: '203.0.113.9', port: 7001 } }));
    expect(pong.observed).to.deep.equal({ host: '203.0.113.9', port: 7001 });
    const v6 = decodeMessage(encodeMessage(Pong, txid, id, {}, { observed: { host: '2001:db8::7', port: 9 } }));
    expect(v6.observed).to.deep.equal({ host: '2001:db8::7', port: 9 });
    const ping = decodeMessage(encodeMessage(Ping, txid, id, {}, { readOnly: true }));
    expect(ping.readOnly).to.equal(true);
    expect(ping.observed).to.equal(undefined);
    // The encoder drops each where it does not belong.
    expect(decodeMessage(encodeMessage(Ping, txid, id, {}, { observed: { host: '1.2.3.4', port: 1 } })).observed).to.equal(undefined);
    expect(decodeMessage(encodeMessage(Pong, txid, id, {}, { readOnly: true })).readOnly).to.equal(false);
  });

  it('rejects ip on a request, ro on a response, bad lengths, port 0 and unspecified addresses', () => {
    const base = (extra: Record<string, unknown>, t: number) => ({ v: 1, t, x: txid, id, ...extra });
    const pack = (m: Record<string, unknown>) => encodeRaw(m);
    const ip = Buffer.from([203, 0, 113, 9, 0x1b, 0x59]);
    expect(() => decodeMessage(pack(base({ ip }, Ping.type)))).to.throw(/only allowed on a response/);
    expect(() => decodeMessage(pack(base({ ro: true }, Pong.type)))).to.throw(/only allowed on a request/);
    expect(() => decodeMessage(pack(base({ ro: false }, Ping.type)))).to.throw(/must be true/);
    expect(() => decodeMessage(pack(base({ ro: 1 }, Ping.type)))).to.throw(/not a boolean/);
    expect(() => decodeMessage(pack(base({ ip: ip.subarray(0, 5) }, Pong.type)))).to.throw(/bad length/);
    expect(() => decodeMessage(pack(base({ ip: Buffer.alloc(12) }, Pong.type)))).to.throw(/bad length/);
    expect(() => decodeMessage(pack(base({ ip: Buffer.from([1, 2, 3, 4, 0, 0]) }, Pong.type)))).to.throw(/port 0/);
    expect(() => decodeMessage(pack(base({ ip: Buffer.from([0, 0, 0, 0, 0, 1]) }, Pong.type)))).to.throw(/unspecified/);
  });

  it('keeps the largest VALUE and NODES under 1,200 bytes with an IPv6 observed address', () => {
    const observed = { host: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', port: 65535 };
    const value = encodeMessage(
      Value,
      txid,
      id,
      {
        nodes: [],
        token: randomBytes(8),
        record: { value: randomBytes(MAX_VALUE_BYTES), publicKey: randomBytes(32), signature: randomBytes(64), seq: Number.MAX_SAFE_INTEGER, salt: randomBytes(MAX_SALT_BYTES) },
      },
      { observed },
    );
    expect(value.length).to.be.at.most(MAX_DATAGRAM_BYTES);
    const many = Array.from({ length: 20 }, (_, i) => [
      { host: `10.0.0.${i + 1}`, port: 1000 + i },
      { host: `2001:db8::${i + 1}`, port: 2000 + i },
    ]).flat();
    expect(encodeMessage(Nodes, txid, id, { nodes: many, token: randomBytes(8) }, { observed }).length).to.be.at.most(MAX_DATAGRAM_BYTES);
    // The read-only flag costs a request 4 bytes.
    const target = randomBytes(20);
    expect(encodeMessage(FindNode, txid, id, { target }, { readOnly: true }).length - encodeMessage(FindNode, txid, id, { target }).length).to.equal(4);
  });
});

describe('DHT: a node bound to 0.0.0.0 is read-only until peers agree on its address', function () {
  this.timeout(20_000);
  const nodes: DhtNode[] = [];
  const raws: RawPeer[] = [];
  afterEach(async () => {
    await closeAll(nodes.splice(0));
    await Promise.all(raws.splice(0).map((r) => r.close()));
  });

  it('stays read-only (a client) while too few prefixes agree: it looks up, nobody adds it', async () => {
    nodes.push(...(await publicNodes(PUBLIC_HOSTS.slice(0, 2))));
    const client = await DhtNode.create({ ...LOOPBACK, host: '0.0.0.0', bootstrap: [nodes[0]!.address], addressQuorum: 3 });
    nodes.push(client);
    expect(client.readOnly).to.equal(true);
    expect(client.selfAddress()).to.deep.include({ source: 'unknown', readOnly: true });
    // It can still use the DHT: a value put by a public node is found, and it can put one.
    const { key } = await nodes[1]!.put(Buffer.from('for everyone'));
    expect(Buffer.from((await client.get(key))!.value).toString()).to.equal('for everyone');
    await client.put(Buffer.from('from a client'));
    await client.findNode(randomBytes(20));
    expect(client.contacts().length).to.equal(2);
    const observed = client.selfAddress().observed;
    expect(observed.agreeing).to.equal(2);
    // Nobody put the read-only node into a table, and its requests were counted as read-only.
    for (const n of nodes.slice(0, 2)) {
      expect(n.contacts().map(formatAddress)).to.not.include(`127.0.0.1:${client.address.port}`);
      expect(n.stats().readOnlyRequests).to.be.greaterThan(0);
      expect(n.stats().droppedSpoofed).to.equal(0);
    }
  });

  it('adopts the address two prefixes agree on, takes its ID, and the others add it', async () => {
    nodes.push(...(await publicNodes(PUBLIC_HOSTS)));
    const changes: SelfAddressInfo[] = [];
    const client = await DhtNode.create({ ...LOOPBACK, host: '0.0.0.0', addressQuorum: 2 });
    nodes.push(client);
    client.onAddressChange((info) => changes.push(info));
    await client.bootstrap(nodes.map((n) => n.address));
    await until(() => changes.length > 0, 'the address to be adopted');
    const port = client.address.port;
    expect(changes[0]).to.deep.include({ address: { host: '127.0.0.1', port }, source: 'observed', readOnly: false });
    expect(toHex(client.id)).to.equal(toHex(nodeIdFromAddress({ host: '127.0.0.1', port })));
    expect(client.readOnly).to.equal(false);
    // The rejoin under the new ID: the public nodes verify it with a PING and add it.
    await until(() => nodes.slice(0, 3).every((n) => knows(n, client.id)), 'the public nodes to add the adopted node', 10_000);
    for (const n of nodes.slice(0, 3)) expect(n.stats().droppedSpoofed).to.equal(0);
    // Its contacts came along into the rebuilt table, and values it put are still republished.
    expect(client.contacts().length).to.equal(3);
    expect(client.stats().addressChanges).to.equal(1);
  });

  it('forged observed addresses from one prefix cannot move it, however many liars', async () => {
    const forged = { host: '6.6.6.6', port: 6666 };
    for (let i = 0; i < 4; i++) {
      const liar = await RawPeer.open(`127.0.9.${i + 1}`);
      liar.autoReply = (e) => (e.type === Ping.type ? { spec: Pong, body: {}, observed: forged } : { spec: Nodes, body: { nodes: [], token: randomBytes(8) }, observed: forged });
      raws.push(liar);
    }
    nodes.push(...(await publicNodes(PUBLIC_HOSTS.slice(0, 1))));
    const client = await DhtNode.create({ ...LOOPBACK, host: '0.0.0.0', addressQuorum: 2 });
    nodes.push(client);
    await client.bootstrap([...raws.map((r) => r.address), nodes[0]!.address]);
    await client.findNode(randomBytes(20));
    // Four liars are one vote (one /24), the honest node another, for another address: no quorum.
    expect(client.readOnly).to.equal(true);
    expect(client.selfAddress()).to.deep.include({ source: 'unknown' });
    expect(client.selfAddress().observed.agreeing).to.equal(1);
    // A second honest prefix: the true address wins, never the forged one.
    const second = await DhtNode.create({ ...LOOPBACK, host: PUBLIC_HOSTS[1]!, bootstrap: [nodes[0]!.address] });
    nodes.push(second);
    await client.ping(second.address);
    await until(() => !client.readOnly, 'the true address to be adopted');
    expect(client.address).to.deep.equal({ host: '127.0.0.1', port: client.address.port });
    expect(client.address.port).to.not.equal(forged.port);
  });

  it('a node with an explicit host keeps its address and ID whatever peers observe', async () => {
    nodes.push(...(await publicNodes(PUBLIC_HOSTS)));
    const fixed = await DhtNode.create({ ...LOOPBACK, host: '127.0.0.1', addressQuorum: 2, bootstrap: nodes.map((n) => n.address) });
    nodes.push(fixed);
    const before = toHex(fixed.id);
    await fixed.findNode(randomBytes(20));
    expect(toHex(fixed.id)).to.equal(before);
    expect(fixed.selfAddress()).to.deep.include({ source: 'bound', readOnly: false });
    expect(fixed.selfAddress().observed.agreeing).to.equal(3);
  });
});
