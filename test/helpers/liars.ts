/**
 * Liars for the attack tests: a raw UDP socket on any loopback address that speaks the wire
 * format by hand (and can claim any node ID or key), and a TCP "host" that follows the
 * transfer protocol but lies: it serves altered shards and answers audits without the data.
 */
import { Propose, Reject } from '../../src/contracts/messages.js';
import { RejectReason } from '../../src/contracts/policy.js';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import type { Address } from '../../src/net/address.js';
import { nodeIdFromAddress } from '../../src/net/node-id.js';
import { toHex } from '../../src/util/bytes.js';
import { buildLevels, hashLeaf, LEAF_SIZE, leafCount, proofFor } from '../../src/storage/merkle.js';
import { frame, NONCE_BYTES, readFrame, TRANSFER_VERSION } from '../../src/transfer/frames.js';
import { decodeMessage, encodeMessage, type Envelope, type MessageSpec } from '../../src/wire/codec.js';

export interface Received {
  envelope: Envelope;
  from: Address;
}

/** A bare UDP socket bound to `host` (any 127.x address) that sends whatever it is told to. */
export class RawUdp {
  readonly received: Received[] = [];
  private waiters: (() => void)[] = [];
  /** Answers each incoming request with what it returns (same transaction ID), if anything. */
  autoReply: ((envelope: Envelope, from: Address) => { spec: MessageSpec<any>; body: unknown } | undefined) | undefined;

  private constructor(
    readonly socket: dgram.Socket,
    readonly address: Address,
  ) {
    socket.on('message', (msg, rinfo) => {
      let envelope: Envelope;
      try {
        envelope = decodeMessage(msg);
      } catch {
        return;
      }
      const from = { host: rinfo.address, port: rinfo.port };
      this.received.push({ envelope, from });
      const reply = !envelope.spec.isResponse ? this.autoReply?.(envelope, from) : undefined;
      if (reply) this.socket.send(encodeMessage(reply.spec, envelope.txid, this.id, reply.body), from.port, from.host);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(host = '127.0.0.1'): Promise<RawUdp> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, host, resolve));
    return new RawUdp(socket, { host, port: socket.address().port });
  }

  /** The node ID that really matches this socket's address. */
  get id(): Uint8Array {
    return nodeIdFromAddress(this.address);
  }

  /** Sends one message claiming node ID `as` (default: our own). */
  send<B>(spec: MessageSpec<B>, body: B, to: Address, opts: { as?: Uint8Array; txid?: Uint8Array } = {}): Uint8Array {
    const txid = opts.txid ?? randomBytes(8);
    this.socket.send(encodeMessage(spec, txid, opts.as ?? this.id, body), to.port, to.host);
    return txid;
  }

  /**
   * Sends a request and waits for its answer (rejects after `ms`). A proposal refused ADDRESS_UNPROVEN is sent once
   * more with the cookie, as an honest owner does (src/contracts/propose-request.ts): these
   * sockets receive at their address, so they pass the check.
   */
  async ask<B>(spec: MessageSpec<B>, body: B, to: Address, ms = 5000): Promise<Envelope> {
    const first = await this.askOnce(spec, body, to, ms);
    const answer = first.body as { reason?: number; cookie?: Uint8Array };
    if (spec.type !== Propose.type || first.type !== Reject.type || answer.reason !== RejectReason.ADDRESS_UNPROVEN || !answer.cookie) return first;
    return this.askOnce(spec, { ...body, cookie: answer.cookie }, to, ms);
  }

  async askOnce<B>(spec: MessageSpec<B>, body: B, to: Address, ms = 5000): Promise<Envelope> {
    const txid = this.send(spec, body, to);
    const end = Date.now() + ms;
    for (;;) {
      const hit = this.received.find((r) => r.envelope.spec.isResponse && Buffer.from(r.envelope.txid).equals(txid));
      if (hit) return hit.envelope;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no answer to ${spec.name}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  ofType(spec: MessageSpec<any>): Envelope[] {
    return this.received.filter((r) => r.envelope.type === spec.type).map((r) => r.envelope);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** How a lying host answers. */
export type Lie =
  /** GET: the shard with one byte flipped. */
  | 'corrupt-get'
  /** AUDIT: random bytes instead of each leaf, with the real Merkle path. */
  | 'random-leaf'
  /** AUDIT: kept only the first leaf; sends it (and its path) for every asked index. */
  | 'stale-leaf'
  /** AUDIT: the right leaf, the path of another one. */
  | 'wrong-path'
  /** AUDIT: the right leaves under the wrong index numbers. */
  | 'wrong-index'
  /** AUDIT: proves fewer leaves than asked. */
  | 'fewer-leaves';

/**
 * A TCP host that speaks the transfer protocol without checking anything, and lies. It
 * knows the shards in `shards` (by hex SHA-256), as an honest host would have them.
 */
export class LiarHost {
  gets = 0;
  audits = 0;

  private constructor(
    private readonly server: net.Server,
    private readonly sockets: Set<net.Socket>,
  ) {}

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  static async listen(port: number, shards: Map<string, Buffer>, lie: Lie): Promise<LiarHost> {
    const sockets = new Set<net.Socket>();
    const server = net.createServer({ allowHalfOpen: true });
    const liar: LiarHost = new LiarHost(server, sockets);
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.once('close', () => sockets.delete(socket));
      void liar.serve(socket, shards, lie).catch(() => socket.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return liar;
  }

  private async serve(socket: net.Socket, shards: Map<string, Buffer>, lie: Lie): Promise<void> {
    socket.write(frame({ v: TRANSFER_VERSION, nonce: randomBytes(NONCE_BYTES) }));
    const header = await readFrame(socket, 4096);
    const op = header.uint('op', 3);
    const data = shards.get(toHex(header.bytes('hash', 32)));
    if (!data) return void socket.end(frame({ ok: false, code: 'NOT_STORED', message: 'no' }));
    if (op === 2) {
      this.gets++;
      const bad = Buffer.from(data);
      if (lie === 'corrupt-get' && bad.length > 0) bad[bad.length >> 1]! ^= 0x40;
      socket.write(frame({ ok: true, size: bad.length }));
      socket.end(bad);
      return;
    }
    if (op !== 3) return void socket.end(frame({ ok: false, code: 'BAD_HEADER', message: 'no' }));
    this.audits++;
    const raw = header.bytes('idx', { max: 64 * 4 });
    const asked: number[] = [];
    for (let off = 0; off + 4 <= raw.length; off += 4) asked.push(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).readUInt32BE(off));
    const count = leafCount(data.length);
    const leaf = (i: number) => data.subarray(i * LEAF_SIZE, Math.min(data.length, (i + 1) * LEAF_SIZE));
    const levels = buildLevels(Array.from({ length: Math.max(1, count) }, (_, i) => hashLeaf(leaf(i))));
    const answers = lie === 'fewer-leaves' ? asked.slice(1) : asked;
    socket.write(frame({ ok: true, n: answers.length }));
    for (const i of answers) {
      const other = (i + 1) % Math.max(1, count);
      const answer =
        lie === 'random-leaf'
          ? { i, d: randomBytes(leaf(i).length), p: proofFor(levels, i) }
          : lie === 'stale-leaf'
            ? { i, d: leaf(0), p: proofFor(levels, 0) }
            : lie === 'wrong-path'
              ? { i, d: leaf(i), p: proofFor(levels, other) }
              : lie === 'wrong-index'
                ? { i: other, d: leaf(i), p: proofFor(levels, i) }
                : { i, d: leaf(i), p: proofFor(levels, i) };
      socket.write(frame(answer));
    }
    socket.end();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
