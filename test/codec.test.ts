import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Packr } from 'msgpackr';
import { decodeMessage, encodeMessage, MAX_DATAGRAM_BYTES, MalformedMessageError } from '../src/wire/codec.js';
import { FindNode, FindValue, MAX_NODES_PER_REPLY, Nodes, Ping, Pong, Store, Stored, Value } from '../src/dht/messages.js';
import { ErrorReply } from '../src/rpc/rpc.js';
import { MAX_SALT_BYTES, MAX_VALUE_BYTES } from '../src/dht/records.js';
import { packAddresses, unpackAddresses } from '../src/wire/addresses.js';
import { REQUEST_PAD_BYTES } from '../src/dht/reflection.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const txid = randomBytes(8);
const id = randomBytes(20);

/** A valid message as a plain map, to be mangled field by field. */
function baseMap(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { v: 1, t: 3, x: txid, id, target: randomBytes(20), ...extra };
}

function expectMalformed(bytes: Uint8Array, reason?: RegExp): void {
  expect(() => decodeMessage(bytes)).to.throw(MalformedMessageError, reason);
}

describe('wire codec', function () {
  this.timeout(5000);

  it('round-trips every DHT message', () => {
    const nodes = [
      { host: '10.0.0.1', port: 1 },
      { host: '192.168.1.200', port: 65535 },
      { host: '2001:db8::1', port: 4000 },
      { host: '::1', port: 9 },
    ];
    const cases: [any, unknown][] = [
      [Ping, {}],
      [Pong, {}],
      // Our own FIND_NODE / FIND_VALUE carry padding (src/dht/reflection.ts); the decoder reports its length.
      [FindNode, { target: randomBytes(20), padded: REQUEST_PAD_BYTES.FIND_NODE }],
      [Nodes, { nodes, token: randomBytes(8) }],
      [FindValue, { key: randomBytes(20), padded: REQUEST_PAD_BYTES.FIND_VALUE }],
      [Value, { nodes: [], token: randomBytes(8), record: { value: randomBytes(100) } }],
      [
        Store,
        {
          key: randomBytes(20),
          token: randomBytes(8),
          ttl: 3600,
          record: { value: randomBytes(10), publicKey: randomBytes(32), signature: randomBytes(64), seq: 7, salt: randomBytes(5) },
        },
      ],
      [Stored, {}],
      [ErrorReply, { code: 3, message: 'SEQ_TOO_LOW' }],
    ];
    for (const [spec, body] of cases) {
      const decoded = decodeMessage(encodeMessage(spec, txid, id, body));
      expect(decoded.type).to.equal(spec.type);
      expect(Buffer.from(decoded.txid).equals(txid)).to.equal(true);
      expect(Buffer.from(decoded.senderId).equals(id)).to.equal(true);
      expect(JSON.parse(JSON.stringify(decoded.body))).to.deep.equal(JSON.parse(JSON.stringify(body)), spec.name);
    }
  });

  it('keeps the largest possible STORE and NODES under the datagram limit', () => {
    const store = encodeMessage(Store, txid, id, {
      key: randomBytes(20),
      token: randomBytes(8),
      ttl: 86_400,
      record: {
        value: randomBytes(MAX_VALUE_BYTES),
        publicKey: randomBytes(32),
        signature: randomBytes(64),
        seq: Number.MAX_SAFE_INTEGER,
        salt: randomBytes(MAX_SALT_BYTES),
      },
    });
    expect(store.length).to.be.at.most(MAX_DATAGRAM_BYTES);
    const many = Array.from({ length: MAX_NODES_PER_REPLY }, (_, i) => [
      { host: `10.0.0.${i + 1}`, port: 1000 + i },
      { host: `2001:db8::${i + 1}`, port: 2000 + i },
    ]).flat();
    expect(encodeMessage(Nodes, txid, id, { nodes: many, token: randomBytes(8) }).length).to.be.at.most(MAX_DATAGRAM_BYTES);
  });

  it('refuses to encode a message over the limit', () => {
    expect(() => encodeMessage(ErrorReply, txid, id, { code: 1, message: 'x' })).not.to.throw();
    const tooBig = { key: randomBytes(20), token: randomBytes(8), ttl: 1, record: { value: randomBytes(1300) } };
    expect(() => encodeMessage(Store, txid, id, tooBig)).to.throw(/over the 1200-byte/);
  });

  it('rejects each kind of malformed datagram', () => {
    expectMalformed(new Uint8Array(0), /empty/);
    expectMalformed(randomBytes(MAX_DATAGRAM_BYTES + 1), /over the limit/);
    expectMalformed(Uint8Array.from([0xc1]));
    expectMalformed(Uint8Array.from([0x85, 0xa1, 0x76]), /msgpack/);
    expectMalformed(packr.pack([1, 2, 3]), /not a map/);
    expectMalformed(packr.pack('hello'), /not a map/);
    expectMalformed(packr.pack(baseMap({ v: 2 })), /version/);
    expectMalformed(packr.pack(baseMap({ v: 'one' })), /"v"/);
    expectMalformed(packr.pack(baseMap({ t: 200 })), /unknown message type/);
    expectMalformed(packr.pack(baseMap({ t: -1 })), /"t"/);
    expectMalformed(packr.pack(baseMap({ x: randomBytes(4) })), /"x"/);
    expectMalformed(packr.pack(baseMap({ x: 'abcdefgh' })), /"x"/);
    expectMalformed(packr.pack(baseMap({ id: randomBytes(19) })), /"id"/);
    expectMalformed(packr.pack(baseMap({ id: undefined })), /missing field "id"/);
    expectMalformed(packr.pack(baseMap({ target: randomBytes(21) })), /"target"/);
    expectMalformed(packr.pack(baseMap({ target: 12345 })), /"target"/);
    expectMalformed(packr.pack({ v: 1, t: 4, x: txid, id, tok: randomBytes(8), n4: randomBytes(7) }), /bad length/);
    expectMalformed(packr.pack({ v: 1, t: 4, x: txid, id, tok: randomBytes(8), n4: Buffer.from([10, 0, 0, 1, 0, 0]) }), /port 0/);
    expectMalformed(packr.pack({ v: 1, t: 4, x: txid, id, tok: randomBytes(8), n4: Buffer.from([0, 0, 0, 0, 0, 9]) }), /unspecified/);
    expectMalformed(packr.pack({ v: 1, t: 4, x: txid, id, tok: randomBytes(8), n4: randomBytes(6 * 21) }), /bad length|longer/);
    expectMalformed(packr.pack({ v: 1, t: 4, x: txid, id }), /"tok"/);
    expectMalformed(packr.pack({ v: 1, t: 7, x: txid, id, key: randomBytes(20), tok: randomBytes(8), ttl: 86_401, val: randomBytes(1) }), /"ttl"/);
    expectMalformed(packr.pack({ v: 1, t: 7, x: txid, id, key: randomBytes(20), tok: randomBytes(8), ttl: 1, val: randomBytes(1), pk: randomBytes(32) }), /"sig"/);
    expectMalformed(
      packr.pack({ v: 1, t: 7, x: txid, id, key: randomBytes(20), tok: randomBytes(8), ttl: 1, val: randomBytes(1), pk: randomBytes(32), sig: randomBytes(64), seq: 1.5 }),
      /"seq"/,
    );
    expectMalformed(packr.pack({ v: 1, t: 15, x: txid, id, code: 1, msg: 'x'.repeat(121) }), /"msg"/);
  });

  it('is not fooled by __proto__ keys', () => {
    const pairs: unknown[] = ['v', 1, 't', 3, 'x', txid, 'id', id, 'target', randomBytes(20), '__proto__', { polluted: true }];
    const raw = Buffer.concat([Buffer.from([0x86]), ...pairs.map((p) => packr.pack(p))]);
    try {
      const decoded = decodeMessage(raw);
      expect((decoded.body as Record<string, unknown>)['polluted']).to.equal(undefined);
    } catch (err) {
      expect(err).to.be.instanceOf(MalformedMessageError);
    }
    expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
  });

  it('packs and unpacks compact IPv4 and IPv6 node lists', () => {
    const list = [
      { host: '1.2.3.4', port: 5 },
      { host: 'fe80::abcd:1', port: 6 },
      { host: '2001:db8:0:0:1:0:0:1', port: 7 },
    ];
    const { v4, v6 } = packAddresses(list);
    expect(v4.length).to.equal(6);
    expect(v6.length).to.equal(36);
    expect([...unpackAddresses(v4, 4, 20), ...unpackAddresses(v6, 6, 20)]).to.deep.equal([
      { host: '1.2.3.4', port: 5 },
      { host: 'fe80::abcd:1', port: 6 },
      { host: '2001:db8::1:0:0:1', port: 7 },
    ]);
  });
});
