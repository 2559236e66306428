/**
 * The reference of bench:transfer: plain TCP pipes of the shard's bytes to and from the host
 * process's raw servers, and the sink downloads go to (counting, or also hashing, the bytes).
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import net, { type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { ShardHasher } from '../../src/storage/merkle.js';
import { HOST, MiB } from './settings.js';
import type { Shard } from './shard.js';

function connect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port, noDelay: true, allowHalfOpen: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Everything the socket sends until it ends. */
function readAll(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const all = finished(socket, { writable: false }).then(() => Buffer.concat(chunks));
  // Awaited later; this only keeps an early failure from being reported as unhandled.
  all.catch(() => {});
  return all;
}

/** What the owner does with a raw download: count the bytes, or also hash them once, or verify them as our GET does. */
type DownloadCheck = 'count' | 'sha256' | 'shard';

/** Where downloads go. */
export class Sink extends Writable {
  bytes = 0;
  private readonly sha256: Hash | undefined;
  private readonly hasher: ShardHasher | undefined;

  constructor(check: DownloadCheck) {
    super({ highWaterMark: MiB });
    this.sha256 = check === 'sha256' ? createHash('sha256') : undefined;
    this.hasher = check === 'shard' ? new ShardHasher() : undefined;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.bytes += chunk.length;
    this.sha256?.update(chunk);
    this.hasher?.update(chunk);
    done();
  }

  /** Throws unless the bytes are the shard (as far as this sink checks). */
  check(shard: Shard): void {
    if (this.bytes !== shard.size) throw new Error(`download got ${this.bytes} of ${shard.size} bytes`);
    const hash = this.sha256?.digest();
    if (hash && !hash.equals(shard.sha256)) throw new Error('download: wrong SHA-256');
    const d = this.hasher?.digest();
    if (d && !(Buffer.from(d.hash).equals(shard.hash) && Buffer.from(d.root).equals(shard.root))) throw new Error('download: wrong hash or root');
  }
}

/** When the sender read the last byte of the shard (performance.now()); NaN for downloads. */
export interface Timing {
  lastByteRead: number;
}

/** The sender's side of every upload: the shard file with 1 MiB reads. */
function readShard(shard: Shard, timing: Timing) {
  return createReadStream(shard.file, { highWaterMark: MiB }).once('end', () => (timing.lastByteRead = performance.now()));
}

export async function rawUpload(port: number, shard: Shard, expected: string, timing: Timing): Promise<void> {
  const socket = await connect(port);
  try {
    const answer = readAll(socket);
    await pipeline(readShard(shard, timing), socket);
    const got = (await answer).toString();
    if (got !== expected) throw new Error(`raw upload answered "${got}", expected "${expected}"`);
  } finally {
    socket.destroy();
  }
}

export async function rawDownload(port: number, shard: Shard, check: DownloadCheck): Promise<void> {
  const socket = await connect(port);
  try {
    const sink = new Sink(check);
    await pipeline(socket, sink);
    sink.check(shard);
  } finally {
    socket.destroy();
  }
}
