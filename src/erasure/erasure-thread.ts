/**
 * Worker thread of `erasure-worker.ts`: runs piece-files.ts jobs, so the reads, the coding
 * calls and the Merkle hashing of every piece (N/K times the shard's bytes: the larger cost)
 * all stay off the caller's event loop. Request {id, op, args}; answer {id, result} or
 * {id, error: {code?, message, piece?}}.
 */
import { parentPort } from 'node:worker_threads';
import { decodeInPlace } from './assembly.js';
import { ErasureError } from './errors.js';
import type { ErasureScheme } from './layout.js';
import { decodePieceFiles, encodePieceFiles, type PieceSource, rebuildPieceFiles, type WriteOptions } from './piece-files.js';

export type ErasureJob =
  | { op: 'encode'; shardPath: string; scheme: ErasureScheme; piecePaths: string[]; options?: WriteOptions }
  | { op: 'decode'; candidates: PieceSource[]; scheme: ErasureScheme; shardSize: number; shardPath: string; options?: WriteOptions }
  | { op: 'rebuild'; candidates: PieceSource[]; scheme: ErasureScheme; shardSize: number; targets: number[]; piecePaths: string[]; options?: WriteOptions }
  | { op: 'decodeInPlace'; file: string; scheme: ErasureScheme; shardSize: number; sources: number[] };

export interface ErasureJobError {
  code?: string;
  message: string;
  piece?: number;
}

function pathFrom(paths: string[]): (index: number) => string {
  return (index) => {
    const p = paths[index];
    if (p === undefined) throw new ErasureError('BAD_PARAMETERS', `no path given for piece ${index}`);
    return p;
  };
}

async function run(job: ErasureJob): Promise<unknown> {
  switch (job.op) {
    case 'encode':
      return encodePieceFiles(job.shardPath, job.scheme, pathFrom(job.piecePaths), job.options);
    case 'decode':
      return decodePieceFiles(job.candidates, job.scheme, job.shardSize, job.shardPath, job.options);
    case 'rebuild':
      return rebuildPieceFiles(job.candidates, job.scheme, job.shardSize, job.targets, pathFrom(job.piecePaths), job.options);
    case 'decodeInPlace':
      return decodeInPlace(job.file, job.scheme, job.shardSize, job.sources);
  }
}

parentPort!.on('message', (message: { id: number; job: ErasureJob }) => {
  run(message.job).then(
    (result) => parentPort!.postMessage({ id: message.id, result }),
    (err: unknown) => {
      const error: ErasureJobError =
        err instanceof ErasureError
          ? { code: err.code, message: err.message, ...(err.piece === undefined ? {} : { piece: err.piece }) }
          : { ...(typeof (err as NodeJS.ErrnoException)?.code === 'string' ? { code: (err as NodeJS.ErrnoException).code } : {}), message: err instanceof Error ? err.message : String(err) };
      parentPort!.postMessage({ id: message.id, error, erasure: err instanceof ErasureError });
    },
  );
});
