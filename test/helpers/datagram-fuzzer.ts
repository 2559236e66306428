/**
 * A generator of valid, mutated and random datagrams of every UDP message type, for the
 * bad-input tests.
 */
import { Packr, Unpackr } from 'msgpackr';
import { encodeTerms, propose, signAsHost, signCancel } from '../../src/contracts/contract.js';
import { Accept, Cancel, Cancelled, Propose, Reject } from '../../src/contracts/messages.js';
import { generateSigningKeyPair, signEd25519, type SigningKeyPair } from '../../src/crypto/ed25519.js';
import { FindNode, FindValue, Nodes, Ping, Pong, Store, Stored, Value } from '../../src/dht/messages.js';
import { immutableKey, mutableKey, signedPayload } from '../../src/dht/records.js';
import { Hello, HelloReply, signHello } from '../../src/peer/hello.js';
import { ErrorReply } from '../../src/rpc/rpc.js';
import { encodeMessage, MAX_DATAGRAM_BYTES } from '../../src/wire/codec.js';
import type { Rand } from './fuzz.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

/** What the generator knows about the target and the sender, to build messages that get far. */
export interface FuzzContext {
  /** The node ID the fuzzing socket really has (so its messages pass the address check). */
  senderId: Uint8Array;
  targetId: Uint8Array;
  targetKey: Uint8Array;
  /** A write token the target issued to the fuzzing socket (for STOREs that pass the token check). */
  token: Uint8Array;
}

/** The message names the generator makes, one valid template each. */
const MESSAGE_KINDS = [
  'PING', 'PONG', 'FIND_NODE', 'NODES', 'FIND_VALUE', 'VALUE', 'STORE', 'STORE_SIGNED', 'STORED', 'ERROR',
  'HELLO', 'HELLO_REPLY', 'PROPOSE', 'ACCEPT', 'REJECT', 'CANCEL', 'CANCELLED',
] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

/** The ways a datagram is made: valid, mutated at the byte or the field level, or random. */
const MUTATIONS = ['valid', 'flip', 'truncate', 'append', 'field-type', 'field-drop', 'field-huge', 'terms', 'oversize', 'envelope', 'ext', 'not-a-map', 'random'] as const;
export type Mutation = (typeof MUTATIONS)[number];

/**
 * Builds datagrams: each a valid message of some type (signed where the protocol signs),
 * then possibly mutated. A few signing keys and contracts are made once and reused, so the
 * generator costs little next to what the target does with each datagram.
 */
export class DatagramFuzzer {
  private readonly owners: SigningKeyPair[] = Array.from({ length: 4 }, () => generateSigningKeyPair());
  private readonly signedTerms: { terms: Uint8Array; osig: Uint8Array; id: Uint8Array }[] = [];
  readonly made = new Map<string, number>();

  constructor(
    private readonly rand: Rand,
    private readonly ctx: FuzzContext,
  ) {
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 16; i++) {
      const owner = this.owners[i % this.owners.length]!;
      const c = propose(owner, {
        host: i % 5 === 4 ? rand.bytes(32) : ctx.targetKey,
        shardHash: rand.bytes(32),
        // Small and large shards: some fit the allowance, some do not.
        shardSize: [1, 4096, 2 ** 20, 2 ** 30, 4 * 2 ** 30][i % 5]!,
        merkleRoot: rand.bytes(32),
        durationSeconds: 86_400,
        auditIntervalSeconds: 3600,
        auditSamples: 8,
        ownerOffer: i % 7 === 0 ? 0 : 2 ** 30,
        nowSeconds: i % 6 === 5 ? now - 3600 : now,
      });
      this.signedTerms.push({ terms: encodeTerms(c.terms), osig: c.ownerSignature, id: c.id });
    }
  }

  /** One datagram, and how it was made. */
  next(): { datagram: Uint8Array; kind: MessageKind; mutation: Mutation } {
    const { rand } = this;
    const kind = rand.pick(MESSAGE_KINDS);
    // Half valid-then-mutated at the field level, the rest spread over the other ways.
    const mutation: Mutation = rand.next() < 0.25 ? 'valid' : rand.pick(MUTATIONS);
    const key = `${kind}/${mutation}`;
    this.made.set(key, (this.made.get(key) ?? 0) + 1);
    return { datagram: this.mutate(this.valid(kind), mutation), kind, mutation };
  }

  private senderId(): Uint8Array {
    const r = this.rand.next();
    // Mostly our real ID (so the message reaches the handlers), sometimes the target's or a stranger's.
    return r < 0.8 ? this.ctx.senderId : r < 0.9 ? this.ctx.targetId : this.rand.bytes(20);
  }

  /** A valid message of `kind` (valid as a datagram; its content may still be refused). */
  valid(kind: MessageKind): Uint8Array {
    const { rand } = this;
    const tx = rand.bytes(8);
    const id = this.senderId();
    const addr = () => ({ host: `127.0.${rand.int(3)}.${1 + rand.int(250)}`, port: 1 + rand.int(65535) });
    switch (kind) {
      case 'PING':
        return encodeMessage(Ping, tx, id, {});
      case 'PONG':
        return encodeMessage(Pong, tx, id, {});
      case 'FIND_NODE':
        return encodeMessage(FindNode, tx, id, { target: rand.bytes(20) });
      case 'NODES':
        return encodeMessage(Nodes, tx, id, { nodes: Array.from({ length: rand.int(21) }, addr), token: rand.bytes(8) });
      case 'FIND_VALUE':
        return encodeMessage(FindValue, tx, id, { key: rand.bytes(20) });
      case 'VALUE':
        return encodeMessage(Value, tx, id, { nodes: [], token: rand.bytes(8), record: { value: rand.bytes(rand.int(200)) } });
      case 'STORE': {
        const value = rand.bytes(rand.int(880));
        const token = rand.next() < 0.8 ? this.ctx.token : rand.bytes(8);
        const key = rand.next() < 0.8 ? immutableKey(value) : rand.bytes(20);
        return encodeMessage(Store, tx, id, { key, token, ttl: 1 + rand.int(86_400), record: { value } });
      }
      case 'STORE_SIGNED': {
        const owner = rand.pick(this.owners);
        const value = rand.bytes(rand.int(600));
        const seq = rand.int(1000);
        const salt = rand.next() < 0.5 ? rand.bytes(1 + rand.int(64)) : undefined;
        const record = { value, publicKey: owner.publicKey, seq, signature: signEd25519(owner, signedPayload(seq, value, salt)), ...(salt ? { salt } : {}) };
        const key = rand.next() < 0.9 ? mutableKey(owner.publicKey, salt) : rand.bytes(20);
        return encodeMessage(Store, tx, id, { key, token: this.ctx.token, ttl: 1 + rand.int(86_400), record });
      }
      case 'STORED':
        return encodeMessage(Stored, tx, id, {});
      case 'ERROR':
        return encodeMessage(ErrorReply, tx, id, { code: rand.int(65536), message: 'no' });
      case 'HELLO':
        return encodeMessage(Hello, tx, id, { challenge: rand.bytes(16) });
      case 'HELLO_REPLY': {
        const k = rand.pick(this.owners);
        const ch = rand.bytes(16);
        return encodeMessage(HelloReply, tx, id, { publicKey: k.publicKey, offered: rand.int(2 ** 40), free: rand.int(2 ** 40), signature: signHello(k, ch, { host: '127.0.0.1', port: 1 }, 1, 1) });
      }
      case 'PROPOSE': {
        const p = rand.pick(this.signedTerms);
        return encodeMessage(Propose, tx, id, { terms: p.terms, ownerSignature: rand.next() < 0.9 ? p.osig : rand.bytes(64) });
      }
      case 'ACCEPT': {
        const p = rand.pick(this.signedTerms);
        return encodeMessage(Accept, tx, id, { contractId: p.id, hostSignature: signAsHost(rand.pick(this.owners), p.id) });
      }
      case 'REJECT':
        return encodeMessage(Reject, tx, id, { contractId: rand.pick(this.signedTerms).id, reason: rand.int(256) });
      case 'CANCEL': {
        const p = rand.pick(this.signedTerms);
        return encodeMessage(Cancel, tx, id, { contractId: rand.next() < 0.7 ? p.id : rand.bytes(32), signature: signCancel(rand.pick(this.owners), p.id) });
      }
      case 'CANCELLED':
        return encodeMessage(Cancelled, tx, id, { contractId: rand.bytes(32) });
    }
  }

  /** A value of some other msgpack type than the field should have. */
  private wrongValue(): unknown {
    const { rand } = this;
    return rand.pick<() => unknown>([
      () => rand.int(2 ** 31) - 2 ** 30,
      () => -1,
      () => 2 ** 64,
      () => 1.5,
      () => Number.NaN,
      () => 'x'.repeat(rand.int(100)),
      () => true,
      () => null,
      () => [rand.bytes(20), 1, 'a'],
      () => ({ a: 1, nested: { deeper: [1, 2, 3] } }),
      () => rand.bytes(rand.int(64)),
      () => new Date(rand.int(2 ** 40)),
      () => new Set([1, 2]),
      () => new Map([['k', 1]]),
      () => new Float64Array(4),
      () => Object.assign(new Error('boom'), { code: 'E' }),
    ])();
  }

  mutate(valid: Uint8Array, how: Mutation): Uint8Array {
    const { rand } = this;
    const fieldLevel = (change: (map: Record<string, unknown>, keys: string[]) => void) => {
      const map = unpackr.unpack(valid) as Record<string, unknown>;
      change(map, Object.keys(map));
      return packr.pack(map);
    };
    switch (how) {
      case 'valid':
        return valid;
      case 'flip': {
        const out = Uint8Array.from(valid);
        for (let i = 0, n = 1 + rand.int(4); i < n; i++) out[rand.int(out.length)] = rand.int(256);
        return out;
      }
      case 'truncate':
        return valid.subarray(0, rand.int(valid.length));
      case 'append': {
        const out = new Uint8Array(valid.length + 1 + rand.int(40));
        out.set(valid);
        out.set(rand.bytes(out.length - valid.length), valid.length);
        return out;
      }
      case 'field-type':
        return fieldLevel((map, keys) => (map[rand.pick(keys)] = this.wrongValue()));
      case 'field-drop':
        return fieldLevel((map, keys) => delete map[rand.pick(keys)]);
      case 'field-huge':
        // A field far over its size (bytes, string or list), within the datagram limit.
        return fieldLevel((map, keys) => {
          const k = rand.pick(keys);
          map[k] = rand.pick<() => unknown>([() => rand.bytes(900 + rand.int(200)), () => 'y'.repeat(900), () => Array.from({ length: 300 }, () => 7), () => 2 ** 53 + 2])();
        });
      case 'terms':
        // Contract terms altered after signing (or re-encoded non-canonically), the signature kept.
        return fieldLevel((map) => {
          const terms = map['terms'];
          if (!(terms instanceof Uint8Array)) {
            map['terms'] = rand.bytes(rand.int(400));
            return;
          }
          const t = Uint8Array.from(terms);
          t[rand.int(t.length)] ^= 1 << rand.int(8);
          map['terms'] = rand.next() < 0.5 ? t : packr.pack((unpackr.unpack(terms) as unknown[]).map((v, i) => (i === rand.int(12) ? this.wrongValue() : v)));
        });
      case 'oversize': {
        const out = new Uint8Array(MAX_DATAGRAM_BYTES + 1 + rand.int(200));
        out.set(valid.subarray(0, Math.min(valid.length, out.length)));
        return out;
      }
      case 'envelope':
        return fieldLevel((map) => {
          const k = rand.pick(['v', 't', 'x', 'id']);
          map[k] = k === 't' ? rand.int(300) : k === 'v' ? rand.pick([0, 2, 255, -1]) : this.wrongValue();
        });
      case 'ext': {
        // A msgpack extension value (timestamp, msgpackr's typed extensions, unknown types) as a field.
        const map = unpackr.unpack(valid) as Record<string, unknown>;
        const head = packr.pack({ ...map, zz: 0 });
        const extType = rand.pick([-1, 0x65, 0x6d, 0x73, 0x74, 0x78, 0x70, 0x42, rand.int(256)]) & 0xff;
        const payload = rand.bytes(rand.pick([1, 2, 4, 8, 16, rand.int(60)]));
        const ext = payload.length in FIXEXT ? Uint8Array.of(FIXEXT[payload.length]!, extType, ...payload) : Uint8Array.of(0xc7, payload.length, extType, ...payload);
        // Replace the trailing 0 of "zz" with the extension value.
        const out = new Uint8Array(head.length - 1 + ext.length);
        out.set(head.subarray(0, head.length - 1));
        out.set(ext, head.length - 1);
        return out;
      }
      case 'not-a-map':
        return packr.pack(rand.pick<unknown>([[1, 2, 3], 'PING', 42, null, valid, [unpackr.unpack(valid)]]));
      case 'random':
        return rand.bytes(rand.int(1400));
    }
  }
}

const FIXEXT: Record<number, number> = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 };
