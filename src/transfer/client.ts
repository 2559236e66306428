/**
 * The owner's TCP side of shard transfer: upload a shard, download it (verified as it
 * streams), and audit a host with fresh random leaves checked against the Merkle root.
 */
import { randomInt } from 'node:crypto';
import net, { type Socket } from 'node:net';
import { promises as fs } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Address } from '../net/address.js';
import type { SigningKeyPair } from '../crypto/ed25519.js';
import type { ContractTerms } from '../contracts/contract.js';

/** What the client needs of a contract: its ID and the shard it covers. */
export interface ShardTarget {
  id: Uint8Array;
  terms: Pick<ContractTerms, 'shardHash' | 'shardSize' | 'merkleRoot'>;
  /** The host's countersignature: a PUT must show it (proof the ACCEPT reached us). */
  hostSignature?: Uint8Array;
}
import { LEAF_SIZE, pickLeaves, verifyLeaf } from '../storage/merkle.js';
import { ParallelShardHasher, type SlotSink } from '../storage/parallel-hasher.js';
import type { ShardDigest } from '../storage/merkle.js';
import { sendFile } from './send-file.js';
import { DirectWriteFile } from '../util/direct-io.js';
import { type ReceiveOptions, receiveVerified, verifiedDigest, verifiedWrite } from './verified-receive.js';
import type { Fields } from '../wire/fields.js';
import { frame, MAX_AUDIT_LEAVES, NONCE_BYTES, Op, type OpCode, isTransferErrorCode, readFrame, signRequest, TransferError, type TransferErrorCode } from './frames.js';
import { SocketMeter } from './socket-meter.js';

export interface TransferClientOptions {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  /** Opens the stream to a host (default: a plain TCP connect; a host behind a NAT is punched to, src/nat). */
  connect?: (address: Address, timeoutMs: number) => Promise<Socket>;
}

/** ms: a connect to a home host over a slow line; ms of silence before a transfer counts as stalled. */
export const TRANSFER_CLIENT_DEFAULTS: TransferClientOptions = { connectTimeoutMs: 10_000, idleTimeoutMs: 30_000 };

/**
 * Why an audit failed, for the owner to act on (src/backup/audit-policy.ts): the host's own
 * refusal code (the same codes its server sends), REFUSED for a refusal without a known code,
 * or what the client found wrong in the answer.
 */
export type AuditFailure = TransferErrorCode | 'REFUSED' | 'INCOMPLETE_PROOF' | 'BAD_LEAF' | 'BAD_ANSWER';

export interface AuditOutcome {
  /** True when every asked leaf came back and verified against the root. */
  passed: boolean;
  leaves: number[];
  /** Why it failed (set whenever `passed` is false). */
  failure?: AuditFailure;
  /** The same in words: the host's error code, or what did not verify. */
  reason?: string;
}

const SMALL_FRAME = 1024;

export class TransferClient {
  /** Bytes sent to and received from hosts, over every connection this client opened. */
  readonly meter = new SocketMeter();

  constructor(
    private readonly keys: SigningKeyPair,
    private readonly options: TransferClientOptions = TRANSFER_CLIENT_DEFAULTS,
  ) {}

  /**
   * Uploads the shard from `source`, a stream or the path of a file (sent with two reused
   * buffers, see send-file.ts); resolves once the host says it is stored and verified.
   * `onSent` is called once the last byte is handed to the socket.
   */
  async put(address: Address, contract: ShardTarget, source: Readable | string, onSent: () => void = () => {}): Promise<void> {
    const socket = await this.open(address, Op.PUT, contract);
    try {
      const answer = readFrame(socket, SMALL_FRAME);
      answer.catch(() => {});
      const sending = typeof source === 'string' ? sendFile(socket, source).then(() => void socket.end()) : pipeline(source, socket);
      const sent = sending.then(
        () => {
          onSent();
          // The host now verifies, fsyncs and renames: allow for that at 10 MiB/s at worst.
          socket.setTimeout(Math.max(this.options.idleTimeoutMs, (contract.terms.shardSize / (10 * 2 ** 20)) * 1000));
          return null;
        },
        (err: unknown) => err,
      );
      const reply = await answer.catch(async (err: unknown) => {
        const sendError = await sent;
        throw sendError instanceof TransferError ? sendError : err;
      });
      expectOk(reply);
      const sendError = await sent;
      if (sendError) throw sendError;
    } finally {
      socket.destroy();
    }
  }

  /**
   * Downloads a shard. The stream errors (TransferError VERIFY) at its end if the size,
   * shard ID or Merkle root differ from the contract: consumers must not keep the bytes
   * before the stream has ended cleanly.
   */
  async get(address: Address, contract: ShardTarget): Promise<Readable> {
    const socket = await this.open(address, Op.GET, contract);
    try {
      const reply = await readFrame(socket, SMALL_FRAME);
      expectOk(reply);
      const { terms } = contract;
      // Leaves are hashed on a worker thread while the next bytes arrive; the bytes pass on at once.
      const hasher = new ParallelShardHasher();
      const verify = new Transform({
        transform(chunk: Buffer, _enc, done) {
          verifiedWrite(hasher, chunk, terms).then(() => done(null, chunk), done);
        },
        flush(done) {
          verifiedDigest(hasher, terms).then(() => done(), done);
        },
      });
      socket.on('error', (err) => verify.destroy(err));
      // The host has sent everything: close our side too, or its connection slot stays taken
      // until its idle timeout (the socket allows half-open connections).
      socket.once('end', () => socket.end());
      socket.on('close', () => {
        if (!socket.readableEnded) verify.destroy(new TransferError('CONNECTION_LOST', 'connection cut during download'));
      });
      return socket.pipe(verify);
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  /**
   * Downloads a shard into a new file `file` (created, never overwritten), verifying it as it
   * arrives: the bytes go into 1 MiB writes while their leaves are hashed on the worker thread.
   * Resolves once size, shard ID and root match the contract; on any failure the file is removed.
   */
  async getFile(address: Address, contract: ShardTarget, file: string, options: { direct?: boolean } = {}): Promise<void> {
    const socket = await this.open(address, Op.GET, contract);
    let handle: DirectWriteFile | null = null;
    try {
      expectOk(await readFrame(socket, SMALL_FRAME));
      const out = (handle = await DirectWriteFile.create(file, 0o600, options.direct ?? true));
      await receiveVerified(socket, contract.terms, (data, position) => out.write(data, position));
      await out.close();
      handle = null;
    } catch (err) {
      await handle?.close().catch(() => {});
      if (handle) await fs.rm(file, { force: true });
      throw err;
    } finally {
      socket.destroy();
    }
  }

  /**
   * Downloads a shard into `sink` (1 MiB slots at their offsets in the shard), verifying it as
   * it arrives (see verified-receive.ts); resolves with its digest once it matches the contract.
   * On failure or abort the sink's writes have finished when this rejects; what they wrote is
   * the caller's to discard.
   */
  async getInto(address: Address, contract: ShardTarget, sink: SlotSink, options: ReceiveOptions = {}): Promise<ShardDigest> {
    if (options.signal?.aborted) throw new TransferError('CONNECTION_LOST', 'download cancelled');
    const socket = await this.open(address, Op.GET, contract);
    try {
      expectOk(await readFrame(socket, SMALL_FRAME));
      return await receiveVerified(socket, contract.terms, sink, options);
    } finally {
      socket.destroy();
    }
  }

  /** Asks for `samples` random leaves (fresh each time) and checks each against the root. */
  async audit(address: Address, contract: ShardTarget, samples: number, random: (n: number) => number = (n) => randomInt(n)): Promise<AuditOutcome> {
    const { terms } = contract;
    // Hosts answer at most MAX_AUDIT_LEAVES leaves per audit.
    const leaves = pickLeaves(terms.shardSize, Math.min(samples, MAX_AUDIT_LEAVES), random);
    const socket = await this.open(address, Op.AUDIT, contract, leaves);
    try {
      const reply = await readFrame(socket, SMALL_FRAME);
      if (!reply.boolean('ok')) {
        const code = reply.optionalString('code', 40);
        return { passed: false, leaves, failure: code !== undefined && isTransferErrorCode(code) ? code : 'REFUSED', reason: code ?? 'refused' };
      }
      const n = reply.uint('n', leaves.length);
      if (n !== leaves.length) return { passed: false, leaves, failure: 'INCOMPLETE_PROOF', reason: `host proved ${n} of ${leaves.length} leaves` };
      for (const index of leaves) {
        const leaf = await readFrame(socket, LEAF_SIZE + 8192);
        const path = leaf.bytesList('p', 32, 64);
        if (leaf.uint('i') !== index || !verifyLeaf(terms.merkleRoot, terms.shardSize, index, leaf.bytes('d', { max: LEAF_SIZE }), path)) {
          return { passed: false, leaves, failure: 'BAD_LEAF', reason: `leaf ${index} does not verify` };
        }
      }
      return { passed: true, leaves };
    } catch (err) {
      // A host that answers with garbage fails; one we could not reach is the caller's to judge.
      if (err instanceof TransferError && err.code === 'CONNECTION_LOST') throw err;
      return { passed: false, leaves, failure: 'BAD_ANSWER', reason: err instanceof Error ? err.message : String(err) };
    } finally {
      socket.destroy();
    }
  }

  private async open(address: Address, op: OpCode, contract: ShardTarget, leaves?: number[]): Promise<Socket> {
    const socket = await (this.options.connect ?? connectDirect)(address, this.options.connectTimeoutMs);
    this.meter.track(socket);
    socket.setTimeout(this.options.idleTimeoutMs, () => socket.destroy(new TransferError('IDLE_TIMEOUT', 'host went silent')));
    try {
      const hello = await readFrame(socket, SMALL_FRAME);
      // A host that turns the connection away (BUSY) sends its error frame instead of HELLO.
      if (hello.has('ok')) expectOk(hello);
      const nonce = hello.bytes('nonce', NONCE_BYTES);
      const { terms } = contract;
      const header: Record<string, unknown> = {
        op,
        cid: contract.id,
        hash: terms.shardHash,
        size: terms.shardSize,
        sig: signRequest(this.keys, op, contract.id, nonce, leaves),
      };
      if (leaves) header['idx'] = packLeaves(leaves);
      if (op === Op.PUT && contract.hostSignature) header['hsig'] = contract.hostSignature;
      socket.write(frame(header));
      return socket;
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }
}

/** A plain TCP connection to `address`; TransferError CONNECTION_LOST if none within `timeoutMs`. */
export function connectDirect(address: Address, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address.host, port: address.port, noDelay: true, allowHalfOpen: true });
    const timer = setTimeout(() => socket.destroy(new TransferError('CONNECTION_LOST', 'connect timed out')), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.on('error', () => {});
      resolve(socket);
    });
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(err instanceof TransferError ? err : new TransferError('CONNECTION_LOST', `cannot connect to ${address.host}:${address.port}: ${err.message}`));
    };
    socket.once('error', onError);
  });
}

function expectOk(reply: Fields): void {
  if (reply.boolean('ok')) return;
  const code = (reply.optionalString('code', 40) ?? 'INTERNAL') as TransferErrorCode;
  throw new TransferError(code, reply.optionalString('message', 200) ?? code);
}

function packLeaves(leaves: number[]): Uint8Array {
  const out = Buffer.alloc(leaves.length * 4);
  leaves.forEach((l, i) => out.writeUInt32BE(l, i * 4));
  return out;
}
