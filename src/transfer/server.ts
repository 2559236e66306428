/**
 * The host's TCP side of shard transfer, on the same port number as its UDP socket.
 *
 * Per connection: the host sends a fresh nonce; the client sends one header frame naming the
 * operation, the contract, the shard hash and size, signed by the contract's owner over the
 * nonce; then
 * - PUT: the shard's bytes until the client half-closes; the host answers {ok} only once the
 *   shard is verified and durable (see ShardStore.receive), and marks the contract active;
 * - GET: the host answers {ok, size} and streams the shard;
 * - AUDIT: the host answers {ok, n} and one frame per asked leaf, with its Merkle path.
 * Anything else gets an error frame {ok: false, code, message}, is counted, and the
 * connection is closed. Limits: connections in total and per source, header size, idle
 * time, and a minimum upload rate (so a trickling sender cannot hold a slot for hours).
 */
import { randomBytes } from 'node:crypto';
import net, { type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import { sourceKey } from '../util/ip.js';
import type { Fields } from '../wire/fields.js';
import { toHex } from '../util/bytes.js';
import type { StoredContract } from '../contracts/store.js';
import { ShardError, type ShardStore } from '../storage/shard-store.js';
import { recordStored, releaseQuietly } from './disk-outcomes.js';
import { sendFile } from './send-file.js';
import { frame, MAX_AUDIT_LEAVES, NONCE_BYTES, Op, type OpCode, readFrame, TRANSFER_VERSION, TransferError, type TransferErrorCode, verifyRequest } from './frames.js';

export interface TransferServerOptions {
  maxHeaderBytes: number;
  /**
   * The whole header must arrive within this time of connecting. The idle timeout alone is
   * not enough: a client dripping one byte just under it would hold a slot for hours.
   */
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerSource: number;
  /** An upload slower than this, measured over `rateWindowMs`, is cut off. */
  minBytesPerSecond: number;
  rateWindowMs: number;
  /** Most leaves one audit may ask for. */
  maxAuditLeaves: number;
}

export const DEFAULT_TRANSFER_OPTIONS: TransferServerOptions = {
  maxHeaderBytes: 4096,
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  maxConnections: 64,
  maxConnectionsPerSource: 8,
  minBytesPerSecond: 32 * 1024,
  rateWindowMs: 10_000,
  maxAuditLeaves: MAX_AUDIT_LEAVES,
};

/** What the server needs to know about contracts. */
export interface ContractLedger {
  get(id: Uint8Array): StoredContract | undefined;
  /** The shard of a pending host contract arrived whole; false if the contract is no longer pending. */
  stored(contract: StoredContract): boolean;
  /** The upload cannot be kept (the disk is full): release the reservation now. */
  abandoned?(contract: StoredContract): void;
}

export interface TransferCounters {
  connections: number;
  puts: number;
  gets: number;
  audits: number;
  bytesIn: number;
  bytesOut: number;
  refused: Partial<Record<TransferErrorCode, number>>;
}

export class TransferServer {
  readonly counters: TransferCounters = { connections: 0, puts: 0, gets: 0, audits: 0, bytesIn: 0, bytesOut: 0, refused: {} };
  private readonly perSource = new Map<string, number>();
  private readonly uploading = new Set<string>();
  private readonly sockets = new Set<Socket>();
  private open = 0;

  private constructor(
    private readonly server: net.Server,
    private readonly store: ShardStore,
    private readonly contracts: ContractLedger,
    private readonly options: TransferServerOptions,
    /** Called for every refusal, for logs. */
    private readonly onRefused: (code: TransferErrorCode, remote: string, message: string) => void,
  ) {
    server.on('connection', (socket) => void this.handle(socket));
  }

  static async listen(
    host: string,
    port: number,
    store: ShardStore,
    contracts: ContractLedger,
    options: Partial<TransferServerOptions> = {},
    onRefused: (code: TransferErrorCode, remote: string, message: string) => void = () => {},
  ): Promise<TransferServer> {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new TransferServer(server, store, contracts, { ...DEFAULT_TRANSFER_OPTIONS, ...options }, onRefused);
  }

  /** Serves a connection opened some other way (a TCP stream punched through a NAT, src/nat). */
  accept(socket: Socket): void {
    void this.handle(socket);
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  private async handle(socket: Socket): Promise<void> {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const source = sourceKey(socket.remoteAddress ?? '?');
    this.counters.connections++;
    // Errors surface through the steps below; this listener only keeps them from being uncaught.
    socket.on('error', () => {});
    if (this.open >= this.options.maxConnections || (this.perSource.get(source) ?? 0) >= this.options.maxConnectionsPerSource) {
      this.refuse(socket, remote, new TransferError('BUSY', 'too many connections'));
      return;
    }
    this.open++;
    this.perSource.set(source, (this.perSource.get(source) ?? 0) + 1);
    this.sockets.add(socket);
    socket.once('close', () => {
      this.open--;
      const n = (this.perSource.get(source) ?? 1) - 1;
      if (n > 0) this.perSource.set(source, n);
      else this.perSource.delete(source);
      this.sockets.delete(socket);
    });
    socket.setTimeout(this.options.idleTimeoutMs, () => socket.destroy(new TransferError('IDLE_TIMEOUT', 'no data for too long')));
    try {
      const nonce = randomBytes(NONCE_BYTES);
      socket.write(frame({ v: TRANSFER_VERSION, nonce }));
      // Found by test/faults/input-tcp.test.ts: without a deadline for the header, a slowloris
      // client (one byte per idle period) held its connection slot indefinitely.
      const deadline = setTimeout(
        () => socket.destroy(new TransferError('SLOW_SENDER', `header not complete within ${this.options.headerTimeoutMs} ms`)),
        this.options.headerTimeoutMs,
      );
      deadline.unref();
      const header = await readFrame(socket, this.options.maxHeaderBytes)
        .catch((err: unknown) => {
          throw socket.errored instanceof TransferError ? socket.errored : err;
        })
        .finally(() => clearTimeout(deadline));
      const request = this.authorize(header, nonce);
      if (request.op === Op.PUT) await this.put(socket, request.contract);
      else if (request.op === Op.GET) await this.get(socket, request.contract);
      else await this.audit(socket, request.contract, request.leaves);
    } catch (err) {
      const cause = socket.errored instanceof TransferError ? socket.errored : err;
      this.refuse(socket, remote, cause);
    }
  }

  /** Checks the header and the owner's signature; returns what to do. */
  private authorize(header: Fields, nonce: Uint8Array): { op: OpCode; contract: StoredContract; leaves: number[] } {
    let op: number, id: Uint8Array, hash: Uint8Array, size: number, signature: Uint8Array;
    let leaves: number[] = [];
    try {
      op = header.uint('op', 3);
      id = header.bytes('cid', 32);
      hash = header.bytes('hash', 32);
      size = header.uint('size');
      signature = header.bytes('sig', 64);
      if (op === Op.AUDIT) leaves = readLeafList(header, this.options.maxAuditLeaves);
    } catch (err) {
      throw new TransferError('BAD_HEADER', (err as Error).message);
    }
    if (op !== Op.PUT && op !== Op.GET && op !== Op.AUDIT) throw new TransferError('BAD_HEADER', `unknown operation ${op}`);
    const contract = this.contracts.get(id);
    if (!contract || contract.role !== 'host') throw new TransferError('UNKNOWN_CONTRACT', 'no such contract here');
    const { terms } = contract.contract;
    if (!Buffer.from(terms.shardHash).equals(hash) || terms.shardSize !== size) throw new TransferError('BAD_HEADER', 'hash or size differ from the contract');
    if (!verifyRequest(terms.owner, op as OpCode, id, nonce, signature, leaves)) throw new TransferError('NOT_OWNER', "not signed by the contract's owner");
    if (op === Op.PUT) {
      // Only a proposer that received our ACCEPT knows our countersignature: a PROPOSE sent
      // from a forged address cannot be followed by an upload.
      const shown = header.optionalBytes('hsig', 64);
      if (!shown || !contract.contract.hostSignature || !Buffer.from(shown).equals(contract.contract.hostSignature)) {
        throw new TransferError('NOT_OWNER', 'the upload does not show the host countersignature');
      }
    }
    return { op: op as OpCode, contract, leaves };
  }

  private async put(socket: Socket, contract: StoredContract): Promise<void> {
    const key = toHex(contract.contract.id);
    if (contract.state !== 'pending') throw new TransferError('WRONG_STATE', `contract is ${contract.state}, not waiting for an upload`);
    if (this.uploading.has(key)) throw new TransferError('BUSY', 'an upload for this contract is already running');
    this.uploading.add(key);
    const { terms } = contract.contract;
    let windowBytes = 0;
    const minPerWindow = (this.options.minBytesPerSecond * this.options.rateWindowMs) / 1000;
    const rateCheck = setInterval(() => {
      if (windowBytes < minPerWindow) socket.destroy(new TransferError('SLOW_SENDER', 'upload slower than the minimum rate'));
      windowBytes = 0;
    }, this.options.rateWindowMs);
    rateCheck.unref();
    // Once the last byte is in, the wait is ours (verify, fsync, rename), not the sender's:
    // neither the rate check nor the idle timer may cut a finished upload.
    socket.once('end', () => {
      clearInterval(rateCheck);
      socket.setTimeout(0);
    });
    // The store reads from `feed`, not from the socket: a refused upload destroys the feed,
    // and the socket stays open long enough to carry the error frame. A cut or destroyed
    // socket still ends the write, because `feed` is destroyed with it.
    const feed = new PassThrough();
    // The store's rejection says what went wrong; a feed it never read (refused before the
    // first byte, e.g. a read-only disk) must not throw the connection's end as uncaught.
    feed.on('error', () => {});
    socket.pipe(feed);
    socket.once('error', (err) => feed.destroy(err));
    socket.once('close', () => {
      if (!socket.readableEnded) feed.destroy(socket.errored ?? new TransferError('CONNECTION_LOST', 'connection cut during upload'));
    });
    try {
      await this.store.receive({ hash: terms.shardHash, size: terms.shardSize, merkleRoot: terms.merkleRoot }, feed, (n) => {
        windowBytes += n;
        this.counters.bytesIn += n;
      });
    } catch (err) {
      if (err instanceof ShardError && (err.code === 'DISK_FULL' || err.code === 'READ_ONLY')) releaseQuietly(this.contracts, contract);
      throw asTransferError(err);
    } finally {
      clearInterval(rateCheck);
      this.uploading.delete(key);
    }
    // The reservation may have lapsed (or the owner cancelled) while the bytes were arriving.
    if (!recordStored(this.contracts, this.store.space, contract)) throw new TransferError('WRONG_STATE', 'the contract ended during the upload');
    this.counters.puts++;
    socket.end(frame({ ok: true }));
  }

  private async get(socket: Socket, contract: StoredContract): Promise<void> {
    if (contract.state !== 'active') throw new TransferError('WRONG_STATE', `contract is ${contract.state}`);
    const { file, size } = await this.store.locate(contract.contract.terms.shardHash).catch((err: unknown) => {
      throw asTransferError(err);
    });
    socket.write(frame({ ok: true, size }));
    await sendFile(socket, file, (n) => (this.counters.bytesOut += n));
    socket.end();
    await finished(socket, { readable: false });
    this.counters.gets++;
  }

  private async audit(socket: Socket, contract: StoredContract, leaves: number[]): Promise<void> {
    if (contract.state !== 'active') throw new TransferError('WRONG_STATE', `contract is ${contract.state}`);
    const { terms } = contract.contract;
    const proven = await this.store.proveLeaves(terms.shardHash, terms.shardSize, leaves).catch((err: unknown) => {
      throw asTransferError(err);
    });
    socket.write(frame({ ok: true, n: proven.length }));
    for (const leaf of proven) socket.write(frame({ i: leaf.index, d: leaf.data, p: leaf.path }));
    socket.end();
    this.counters.audits++;
  }

  private refuse(socket: Socket, remote: string, err: unknown): void {
    const code = refusalCode(err);
    const message = err instanceof Error ? err.message : String(err);
    this.counters.refused[code] = (this.counters.refused[code] ?? 0) + 1;
    this.onRefused(code, remote, message);
    if (!socket.destroyed && socket.writable) socket.end(frame({ ok: false, code, message: message.slice(0, 200) }));
    // Give the error frame a moment to leave, then make sure the slot is freed.
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const CUT = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED']);

/** The shard store's finding (size, hash, root, not stored) as the refusal sent; other errors as they are. */
function asTransferError(err: unknown): unknown {
  return err instanceof ShardError ? new TransferError(err.code, err.message) : err;
}

function refusalCode(err: unknown): TransferErrorCode {
  if (err instanceof TransferError) return err.code === 'PROTOCOL' || err.code === 'VERIFY' ? 'INTERNAL' : err.code;
  return CUT.has((err as NodeJS.ErrnoException)?.code ?? '') ? 'CONNECTION_LOST' : 'INTERNAL';
}

function readLeafList(header: Fields, max: number): number[] {
  const raw = header.bytes('idx', { max: max * 4 });
  if (raw.length % 4 !== 0) throw new Error('leaf list has a bad length');
  const view = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: number[] = [];
  for (let off = 0; off < raw.length; off += 4) out.push(view.readUInt32BE(off));
  return out;
}
