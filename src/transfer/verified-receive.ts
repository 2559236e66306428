/**
 * The receiving half of a download (GET): the shard's bytes from the socket, hashed on the
 * hash worker as they arrive and handed to a sink in 1 MiB slots, then checked against the
 * contract's size, shard ID and Merkle root. Where the bytes go is the sink's business: a new
 * file (a whole shard), or a region of a shard being assembled from pieces (piece-fetch.ts).
 */
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ShardDigest } from '../storage/merkle.js';
import { ParallelShardHasher, type SlotSink } from '../storage/parallel-hasher.js';
import { ScavengeEvery } from '../util/scavenge.js';
import type { ContractTerms } from '../contracts/contract.js';
import { TransferError } from './frames.js';

export type ShardTerms = Pick<ContractTerms, 'shardHash' | 'shardSize' | 'merkleRoot'>;

export interface ReceiveOptions {
  /** Told the bytes received so far after each socket chunk (progress; the hedging of piece-fetch.ts). */
  onBytes?: (received: number) => void;
  /** Aborting cuts the connection; the receive rejects once the sink's writes in flight are done. */
  signal?: AbortSignal;
  /** Hash slots in flight (ParallelShardHasher's `slots`, default 4): fewer for downloads that run several at once. */
  slots?: number;
}

/** Bytes downloaded between two young-generation collections. */
const DOWNLOAD_SCAVENGE_BYTES = 2 * 1024 * 1024;

/**
 * Receives the shard from `socket` (past the OK frame) into `sink`. Resolves with the digest
 * once size, ID and root match `terms`; rejects with a TransferError otherwise, after every
 * sink write has finished (so the caller may remove or reuse what the sink wrote).
 */
export async function receiveVerified(socket: Socket, terms: ShardTerms, sink: SlotSink, options: ReceiveOptions = {}): Promise<ShardDigest> {
  const hasher = new ParallelShardHasher({ sink, ...(options.slots ? { slots: options.slots } : {}) });
  const { signal, onBytes } = options;
  const abort = () => socket.destroy(new TransferError('CONNECTION_LOST', 'download cancelled'));
  if (signal?.aborted) abort();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    // The host has sent everything: close our side too, or its connection slot stays taken
    // until its idle timeout (the socket allows half-open connections).
    socket.once('end', () => socket.end());
    // The socket's 64 KiB Buffers are copied into the hasher's slots at once: collected every
    // few MiB, they do not pile up in malloc's arena (util/scavenge.ts).
    const garbage = new ScavengeEvery(DOWNLOAD_SCAVENGE_BYTES);
    let digest: ShardDigest | null = null;
    const into = new Writable({
      highWaterMark: 1024 * 1024,
      write(chunk: Buffer, _enc, done) {
        garbage.count(chunk.length);
        verifiedWrite(hasher, chunk, terms).then(() => {
          onBytes?.(hasher.size);
          done();
        }, done);
      },
      final(done) {
        verifiedDigest(hasher, terms).then((d) => {
          digest = d;
          done();
        }, done);
      },
    });
    await pipeline(socket, into).catch((err: unknown) => {
      throw err instanceof TransferError ? err : new TransferError('CONNECTION_LOST', `download cut: ${err instanceof Error ? err.message : String(err)}`);
    });
    return digest!;
  } catch (err) {
    await hasher.settle();
    throw err;
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}

/** Hashes a downloaded chunk, refusing bytes beyond the shard's size. */
export async function verifiedWrite(hasher: ParallelShardHasher, chunk: Buffer, terms: ShardTerms): Promise<void> {
  if (hasher.size + chunk.length > terms.shardSize) throw new TransferError('VERIFY', 'host sent more bytes than the shard has');
  await hasher.write(chunk);
}

/** Ends a download's hashing: size, shard ID and Merkle root must be the contract's. */
export async function verifiedDigest(hasher: ParallelShardHasher, terms: ShardTerms): Promise<ShardDigest> {
  const got = await hasher.digest();
  if (got.size !== terms.shardSize) throw new TransferError('VERIFY', `host sent ${got.size} of ${terms.shardSize} bytes`);
  if (!Buffer.from(got.hash).equals(terms.shardHash) || !Buffer.from(got.root).equals(terms.merkleRoot)) {
    throw new TransferError('VERIFY', 'the shard the host sent does not match its hash');
  }
  return got;
}
