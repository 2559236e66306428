/**
 * Erasure coding off the main thread: the jobs of piece-files.ts run on one worker thread
 * (erasure-thread.ts), started on first use. The worker is unref'd while no job is pending, so
 * an idle one never keeps the process alive; `close` stops it. Errors come back as they were
 * thrown: an `ErasureError` with its code and piece, or an Error with the I/O code.
 */
import { Worker } from 'node:worker_threads';
import { ErasureError, type ErasureErrorCode } from './errors.js';
import type { ErasureJob, ErasureJobError } from './erasure-thread.js';
import type { ErasureScheme, PieceLayout } from './layout.js';
import type { ShardDigest } from '../storage/merkle.js';
import type { PieceFile, PieceSource, RejectedPiece, WriteOptions } from './piece-files.js';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class ErasureWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  /** `encodePieceFiles` on the worker: piece i goes to `piecePaths[i]`. */
  encode(shardPath: string, scheme: ErasureScheme, piecePaths: string[], options: WriteOptions = {}): Promise<{ layout: PieceLayout; pieces: PieceFile[] }> {
    return this.run({ op: 'encode', shardPath, scheme, piecePaths, options }) as Promise<{ layout: PieceLayout; pieces: PieceFile[] }>;
  }

  /** `decodePieceFiles` on the worker. */
  decode(candidates: PieceSource[], scheme: ErasureScheme, shardSize: number, shardPath: string, options: WriteOptions = {}): Promise<{ used: number[]; rejected: RejectedPiece[] }> {
    return this.run({ op: 'decode', candidates, scheme, shardSize, shardPath, options }) as Promise<{ used: number[]; rejected: RejectedPiece[] }>;
  }

  /** `rebuildPieceFiles` on the worker: rebuilt piece i goes to `piecePaths[i]`. */
  rebuild(
    candidates: PieceSource[],
    scheme: ErasureScheme,
    shardSize: number,
    targets: number[],
    piecePaths: string[],
    options: WriteOptions = {},
  ): Promise<{ pieces: PieceFile[]; used: number[]; rejected: RejectedPiece[] }> {
    return this.run({ op: 'rebuild', candidates, scheme, shardSize, targets, piecePaths, options }) as Promise<{ pieces: PieceFile[]; used: number[]; rejected: RejectedPiece[] }>;
  }

  /** `decodeInPlace` (assembly.ts) on the worker: the missing data pieces of an assembly file rebuilt, the file cut to the shard and hashed. */
  decodeInPlace(file: string, scheme: ErasureScheme, shardSize: number, sources: number[]): Promise<ShardDigest> {
    return this.run({ op: 'decodeInPlace', file, scheme, shardSize, sources }) as Promise<ShardDigest>;
  }

  /** Stops the worker; pending jobs fail. A later job starts a new one. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }

  private run(job: ErasureJob): Promise<unknown> {
    const worker = this.start();
    const id = this.nextId++;
    worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, job });
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./erasure-thread.js', import.meta.url));
    worker.unref();
    const failAll = (error: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
    worker.on('message', (answer: { id: number; result?: unknown; error?: ErasureJobError; erasure?: boolean }) => {
      const p = this.pending.get(answer.id);
      if (!p) return;
      this.pending.delete(answer.id);
      if (this.pending.size === 0) worker.unref();
      if (answer.error) p.reject(toError(answer.error, answer.erasure === true));
      else p.resolve(answer.result);
    });
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`erasure worker exited (${code})`)));
    this.worker = worker;
    return worker;
  }
}

function toError(e: ErasureJobError, erasure: boolean): Error {
  if (erasure) return new ErasureError(e.code as ErasureErrorCode, e.message, e.piece);
  const error = new Error(e.message) as NodeJS.ErrnoException;
  if (e.code) error.code = e.code;
  return error;
}
