import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Packr } from 'msgpackr';
import { DhtNode } from '../src/dht/node.js';
import { compareDistance } from '../src/dht/id.js';
import { toHex } from '../src/util/bytes.js';
import { encodeMessage } from '../src/wire/codec.js';
import { FindNode, FindValue, Nodes, Ping, Pong, Store, Value } from '../src/dht/messages.js';
import { ErrorReply } from '../src/rpc/rpc.js';
import { closeAll, RawPeer, startNetwork, until } from './helpers/network.js';

/** A deterministic PRNG (mulberry32) so a failing run can be replayed. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('DHT under random and mutated datagrams', function () {
  this.timeout(60_000);
  let nodes: DhtNode[] = [];
  let raw: RawPeer;
  before(async () => {
    nodes = await startNetwork(12);
    raw = await RawPeer.open();
  });
  after(async () => {
    await closeAll(nodes);
    await raw.close();
  });

  it('survives 10,000 of them, counts every one, and still answers lookups', async () => {
    const rand = prng(0xdb5);
    const int = (n: number) => Math.floor(rand() * n);
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
    const packr = new Packr({ useRecords: false, variableMapSize: true });
    const victim = nodes[0]!;
    const ids = [raw.id, victim.id, bytes(20)];
    const valid = () => {
      const id = ids[int(ids.length)]!;
      const tx = bytes(8);
      switch (int(7)) {
        case 0:
          return encodeMessage(Ping, tx, id, {});
        case 1:
          return encodeMessage(FindNode, tx, id, { target: bytes(20) });
        case 2:
          return encodeMessage(FindValue, tx, id, { key: bytes(20) });
        case 3:
          return encodeMessage(Store, tx, id, { key: bytes(20), token: bytes(8), ttl: int(90_000), record: { value: bytes(int(900)) } });
        case 4:
          return encodeMessage(Nodes, tx, id, { nodes: [{ host: '127.0.0.1', port: 1 + int(65534) }], token: bytes(8) });
        case 5:
          return encodeMessage(Value, tx, id, { nodes: [], token: bytes(8), record: { value: bytes(int(50)) } });
        default:
          return encodeMessage(ErrorReply, tx, id, { code: int(70000), message: 'x' });
      }
    };
    const mutate = (m: Uint8Array): Uint8Array => {
      const out = Uint8Array.from(m);
      switch (int(5)) {
        case 0: // flip a few bytes
          for (let i = 0, n = 1 + int(4); i < n; i++) out[int(out.length)] = int(256);
          return out;
        case 1: // truncate
          return out.subarray(0, int(out.length));
        case 2: // append junk
          return Uint8Array.from([...out, ...bytes(1 + int(40))]);
        case 3: // a map with fields of the wrong types
          return packr.pack({ v: [1, '1', 1.5, -1][int(4)], t: int(20), x: [bytes(8), 'x', 7][int(3)], id: [bytes(20), 5, {}][int(3)], target: bytes(int(30)) });
        default:
          return out;
      }
    };
    const before = victim.stats();
    const total = 10_000;
    for (let sent = 0; sent < total; ) {
      // Send in small batches and let the victim drain them, so the kernel never drops any.
      for (let i = 0; i < 50 && sent < total; i++, sent++) {
        const kind = int(3);
        const datagram = kind === 0 ? bytes(int(1400)) : kind === 1 ? mutate(valid()) : valid();
        await raw.send(datagram, victim.address);
      }
      await until(() => victim.stats().received - before.received >= sent, `${sent} datagrams received`);
    }
    const after = victim.stats();
    const delta = (k: keyof typeof after) => (after[k] as number) - (before[k] as number);
    expect(delta('received')).to.be.at.least(total);
    // Every datagram landed in exactly one counter.
    const classified = ['requestsHandled', 'responsesAccepted', 'droppedMalformed', 'droppedSpoofed', 'droppedUnexpected', 'rateLimited'] as const;
    expect(classified.reduce((sum, k) => sum + after[k], 0)).to.equal(after.received);
    expect(delta('droppedMalformed')).to.be.greaterThan(3000);
    expect(delta('droppedSpoofed')).to.be.greaterThan(1000);
    expect(delta('droppedUnexpected')).to.be.greaterThan(500);
    expect(after.handlerErrors).to.equal(0);
    expect(after.values).to.equal(before.values);

    // The victim still serves honest lookups, exactly.
    const target = randomBytes(20);
    const from = nodes[5]!;
    const truth = nodes.filter((n) => n !== from).sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, 20);
    const result = await from.lookup(target);
    expect(result.contacts.map((c) => toHex(c.id))).to.deep.equal(truth.map((c) => toHex(c.id)));
    expect(await from.ping(victim.address)).to.have.property('port', victim.address.port);
    expect(raw.ofType(Pong).length).to.be.greaterThan(0);
  });
});
