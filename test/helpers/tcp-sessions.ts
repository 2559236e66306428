/**
 * Malformed TCP transfer sessions for the bad-input tests (test/faults/input-tcp.test.ts): the
 * kinds (random bytes, huge and oversized headers, wrong types, wrong operations, unknown
 * contracts, bad signatures, wrong states, bad uploads, cut uploads and downloads, slowloris
 * senders, early closes), the answers each kind may get, and one session of a kind.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { StoredContract } from '../../src/contracts/store.js';
import type { Peer } from '../../src/peer/peer.js';
import { frame, Op, type OpCode, readFrame, signRequest } from '../../src/transfer/frames.js';
import type { Rand } from './fuzz.js';
import { MiB } from './peers.js';

/** Short limits, so slowloris sessions end quickly (production: 30 s idle, 10 s header). */
export const IDLE_MS = 1000;
export const HEADER_MS = 2000;

export const SESSION_KINDS = [
  'garbage',
  'huge-length',
  'oversized-header',
  'bad-header',
  'wrong-op',
  'unknown-contract',
  'bad-signature',
  'signature-for-other-op',
  'wrong-size',
  'put-on-active',
  'get-on-pending',
  'bad-upload',
  'short-upload',
  'cut-upload',
  'aborted-get',
  'bad-audit-list',
  'early-close',
  'close-mid-header',
  'silent',
  'slowloris',
] as const;
export type Kind = (typeof SESSION_KINDS)[number];

/** Error codes (or 'ok', or 'none' when the connection closed without a frame) each kind may get. */
export const EXPECTED: Record<Kind, string[]> = {
  garbage: ['BAD_HEADER', 'HEADER_TOO_LARGE', 'IDLE_TIMEOUT', 'SLOW_SENDER', 'none'],
  'huge-length': ['HEADER_TOO_LARGE'],
  'oversized-header': ['HEADER_TOO_LARGE'],
  'bad-header': ['BAD_HEADER'],
  'wrong-op': ['BAD_HEADER'],
  'unknown-contract': ['UNKNOWN_CONTRACT'],
  'bad-signature': ['NOT_OWNER'],
  'signature-for-other-op': ['NOT_OWNER'],
  'wrong-size': ['BAD_HEADER'],
  'put-on-active': ['WRONG_STATE'],
  'get-on-pending': ['WRONG_STATE'],
  'bad-upload': ['HASH_MISMATCH', 'BUSY'],
  'short-upload': ['SIZE_MISMATCH', 'BUSY'],
  'cut-upload': ['none', 'SIZE_MISMATCH', 'CONNECTION_LOST', 'BUSY'],
  'aborted-get': ['ok', 'none'],
  'bad-audit-list': ['BAD_HEADER', 'HEADER_TOO_LARGE'],
  'early-close': ['none'],
  'close-mid-header': ['CONNECTION_LOST', 'none'],
  // The host destroys these connections without an error frame; its counters say why.
  silent: ['none'],
  slowloris: ['none'],
};

export interface Fixture {
  keys: Peer['signing'];
  active: StoredContract;
  pending: StoredContract;
  /** Bytes of the pending contract's shard (a valid upload would be accepted). */
  pendingSize: number;
}

function connect(port: number, localAddress: string): net.Socket {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress, allowHalfOpen: true });
  socket.on('error', () => {});
  return socket;
}

/** The host's answer: 'ok', an error code, or 'none' if the connection ended without a frame. */
export async function answer(socket: net.Socket): Promise<string> {
  try {
    const f = await readFrame(socket, 4096);
    return f.boolean('ok') ? 'ok' : f.string('code', 40);
  } catch {
    return 'none';
  }
}

function header(op: number, c: StoredContract, sig: Uint8Array, extra: Record<string, unknown> = {}): Buffer {
  const { terms } = c.contract;
  return frame({ op, cid: c.contract.id, hash: terms.shardHash, size: terms.shardSize, sig, ...extra });
}

/** Runs one malformed session of `kind` from `source`; resolves with what the host answered. */
export async function session(kind: Kind, rand: Rand, port: number, source: string, fx: Fixture): Promise<string> {
  const socket = connect(port, source);
  try {
    if (kind === 'early-close') {
      // Connected, then gone before the host's hello.
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.destroy();
      return 'none';
    }
    const hello = await readFrame(socket, 1024);
    const nonce = hello.bytes('nonce', 32);
    const sign = (op: OpCode, c: StoredContract, leaves?: number[]) => signRequest(fx.keys, op, c.contract.id, nonce, leaves);
    switch (kind) {
      case 'garbage':
        socket.write(randomBytes(1 + rand.int(300)));
        break;
      case 'huge-length': {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(rand.pick([0xffffffff, 4097, 2 ** 31, 64 * MiB]));
        socket.write(len);
        break;
      }
      case 'oversized-header':
        socket.write(frame({ op: 2, cid: randomBytes(32), pad: randomBytes(4096 + rand.int(10_000)) }));
        break;
      case 'bad-header':
        socket.write(
          frame(
            rand.pick<Record<string, unknown>>([
              { op: 'PUT' },
              { op: 2, cid: randomBytes(31), hash: randomBytes(32), size: 1, sig: randomBytes(64) },
              { op: 2, cid: randomBytes(32), hash: 'x', size: -1, sig: randomBytes(64) },
              { op: 2, cid: randomBytes(32), hash: randomBytes(32), size: 2 ** 60, sig: randomBytes(64) },
              { op: 1.5, cid: [1, 2], hash: null, size: {}, sig: true },
            ]),
          ),
        );
        break;
      case 'wrong-op':
        socket.write(header(rand.pick([0, 4, 7, 255, 2 ** 32]), fx.active, randomBytes(64)));
        break;
      case 'unknown-contract': {
        const fake = { ...fx.active, contract: { ...fx.active.contract, id: randomBytes(32) } };
        socket.write(header(Op.GET, fake, sign(Op.GET, fake)));
        break;
      }
      case 'bad-signature':
        socket.write(header(Op.GET, fx.active, rand.pick([() => randomBytes(64), () => signRequest(fx.keys, Op.GET, fx.active.contract.id, randomBytes(32))])()));
        break;
      case 'signature-for-other-op':
        // Signed for a GET, presented as an AUDIT (the operation is part of what is signed).
        socket.write(header(Op.AUDIT, fx.active, sign(Op.GET, fx.active), { idx: Buffer.alloc(4) }));
        break;
      case 'wrong-size':
        socket.write(frame({ op: Op.GET, cid: fx.active.contract.id, hash: fx.active.contract.terms.shardHash, size: fx.active.contract.terms.shardSize + 1, sig: sign(Op.GET, fx.active) }));
        break;
      case 'put-on-active':
        socket.write(header(Op.PUT, fx.active, sign(Op.PUT, fx.active), { hsig: fx.active.contract.hostSignature }));
        break;
      case 'get-on-pending':
        socket.write(header(Op.GET, fx.pending, sign(Op.GET, fx.pending)));
        break;
      case 'bad-upload':
      case 'short-upload':
      case 'cut-upload': {
        socket.write(header(Op.PUT, fx.pending, sign(Op.PUT, fx.pending), { hsig: fx.pending.contract.hostSignature }));
        const n = kind === 'bad-upload' ? fx.pendingSize : rand.int(fx.pendingSize);
        socket.write(randomBytes(n));
        if (kind === 'cut-upload') {
          socket.destroy();
          return 'none';
        }
        socket.end();
        break;
      }
      case 'aborted-get': {
        socket.write(header(Op.GET, fx.active, sign(Op.GET, fx.active)));
        const first = await answer(socket);
        socket.destroy();
        return first;
      }
      case 'bad-audit-list':
        socket.write(header(Op.AUDIT, fx.active, sign(Op.AUDIT, fx.active), { idx: randomBytes(rand.pick([5, 7, 65 * 4, 4096])) }));
        break;
      case 'close-mid-header': {
        const h = header(Op.GET, fx.active, sign(Op.GET, fx.active));
        socket.end(h.subarray(0, 1 + rand.int(h.length - 1)));
        break;
      }
      case 'silent':
        break;
      case 'slowloris': {
        // One byte of a long header at a time, each well within the idle timeout.
        const h = frame({ op: Op.GET, pad: randomBytes(3000) });
        let i = 0;
        const drip = setInterval(() => {
          if (socket.destroyed || i >= h.length) return clearInterval(drip);
          socket.write(h.subarray(i, ++i));
        }, IDLE_MS / 4);
        socket.once('close', () => clearInterval(drip));
        break;
      }
    }
    return await answer(socket);
  } finally {
    socket.destroy();
  }
}
