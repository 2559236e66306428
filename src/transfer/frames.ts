/**
 * Framing for the TCP shard protocol: a 4-byte big-endian length, then that many bytes of
 * MessagePack. Raw shard bytes follow a header frame unframed. Frames are read with
 * `socket.read(n)` so that whatever follows a header stays in the socket for the data pipe.
 */
import type { Socket } from 'node:net';
import { Packr, Unpackr } from 'msgpackr';
import { Fields, MalformedMessageError } from '../wire/fields.js';
import { signEd25519, type SigningKeyPair, verifyEd25519 } from '../crypto/ed25519.js';

export const TRANSFER_VERSION = 1;
export const NONCE_BYTES = 32;
/** Most leaves one audit may ask for. */
export const MAX_AUDIT_LEAVES = 64;

export const Op = { PUT: 1, GET: 2, AUDIT: 3 } as const;
export type OpCode = (typeof Op)[keyof typeof Op];

/** Why a transfer was refused; sent as `code` in an error frame and counted by the host. */
export const TRANSFER_ERROR_CODES = [
  'BUSY',
  'BAD_HEADER',
  'HEADER_TOO_LARGE',
  'UNKNOWN_CONTRACT',
  'NOT_OWNER',
  'WRONG_STATE',
  'SIZE_MISMATCH',
  'HASH_MISMATCH',
  'ROOT_MISMATCH',
  'NOT_STORED',
  'IDLE_TIMEOUT',
  'SLOW_SENDER',
  'CONNECTION_LOST',
  'INTERNAL',
  /** The host's disk filled up during the upload: nothing was kept, the reservation is freed. */
  'DISK_FULL',
  /** The host could not read the shard from its disk (EIO, a damaged file): an audit so answered fails. */
  'UNREADABLE',
  /** The host's data directory is read-only (storage/read-only.ts): nothing was kept, the reservation is freed. */
  'READ_ONLY',
] as const;
export type TransferErrorCode = (typeof TRANSFER_ERROR_CODES)[number];

export function isTransferErrorCode(code: string): code is TransferErrorCode {
  return (TRANSFER_ERROR_CODES as readonly string[]).includes(code);
}

export class TransferError extends Error {
  constructor(
    /** PROTOCOL and VERIFY are the client's own findings: an answer it cannot use, data that fails verification. */
    readonly code: TransferErrorCode | 'PROTOCOL' | 'VERIFY',
    message: string,
  ) {
    super(message);
    this.name = 'TransferError';
  }
}

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

/** Encodes one frame. */
export function frame(payload: Record<string, unknown>): Buffer {
  const body = packr.pack(payload);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/**
 * Reads one frame of at most `maxBytes`. Rejects with HEADER_TOO_LARGE, BAD_HEADER, or
 * CONNECTION_LOST if the socket ends first.
 */
export function readFrame(socket: Socket, maxBytes: number): Promise<Fields> {
  return new Promise((resolve, reject) => {
    let length = -1;
    const cleanup = () => {
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
    };
    const fail = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onEnd = () => fail(new TransferError('CONNECTION_LOST', 'connection closed before a whole frame arrived'));
    const onError = (err: Error) => fail(new TransferError('CONNECTION_LOST', err.message));
    // Found by test/faults/input-tcp.test.ts: once the peer has half-closed, read(n) returns
    // whatever is left even if shorter than n. A 1-3 byte remainder made readUInt32BE throw
    // out of this event handler and crash the process; a short body was parsed as a frame.
    const cut = () => fail(new TransferError('CONNECTION_LOST', 'connection closed in the middle of a frame'));
    const onReadable = () => {
      if (length < 0) {
        const prefix = socket.read(4) as Buffer | null;
        if (!prefix) return;
        if (prefix.length < 4) return cut();
        length = prefix.readUInt32BE(0);
        if (length > maxBytes) return fail(new TransferError('HEADER_TOO_LARGE', `a ${length}-byte frame is over the ${maxBytes}-byte limit`));
      }
      const body = length === 0 ? Buffer.alloc(0) : (socket.read(length) as Buffer | null);
      if (!body) return;
      if (body.length < length) return cut();
      cleanup();
      try {
        resolve(new Fields(unpackr.unpack(body)));
      } catch (err) {
        reject(new TransferError('BAD_HEADER', err instanceof MalformedMessageError ? err.message : 'frame is not valid msgpack'));
      }
    };
    socket.on('readable', onReadable);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
    onReadable();
  });
}

/**
 * What the owner signs to be allowed to act on a contract: the operation, the contract ID,
 * the host's fresh nonce (so a signature is good for one connection only) and, for audits,
 * the leaf indexes asked for.
 */
export function requestPayload(op: OpCode, contractId: Uint8Array, nonce: Uint8Array, leaves: number[] = []): Uint8Array {
  const out = Buffer.alloc(15 + 1 + 32 + NONCE_BYTES + 4 + 4 * leaves.length);
  let off = out.write('dbs-transfer-v1');
  out[off++] = op;
  off += Buffer.from(contractId).copy(out, off);
  off += Buffer.from(nonce).copy(out, off);
  out.writeUInt32BE(leaves.length, off);
  off += 4;
  for (const l of leaves) {
    out.writeUInt32BE(l, off);
    off += 4;
  }
  return out;
}

export function signRequest(keys: SigningKeyPair, op: OpCode, contractId: Uint8Array, nonce: Uint8Array, leaves?: number[]): Uint8Array {
  return signEd25519(keys, requestPayload(op, contractId, nonce, leaves));
}

export function verifyRequest(owner: Uint8Array, op: OpCode, contractId: Uint8Array, nonce: Uint8Array, signature: Uint8Array, leaves?: number[]): boolean {
  return verifyEd25519(owner, requestPayload(op, contractId, nonce, leaves), signature);
}
