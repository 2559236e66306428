/**
 * Erasure-coded placement: a finished shard file is coded into N piece files (on the erasure
 * worker), and each piece goes to a host of its own under its own contract, whose signed terms
 * name the shard, the piece's index, K and N (src/contracts/contract.ts `PieceTerms`). Hosts
 * see one piece of ciphertext and treat it as any shard (quota, ledger, audits per contract).
 * The shard file stays as our local copy (repair re-encodes from it); piece files are
 * temporary. Also places rebuilt pieces for repair (`placePieces`).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { NegotiationError, type Refusal } from '../contracts/negotiation.js';
import type { StoredContract } from '../contracts/store.js';
import type { ErasureWorker } from '../erasure/erasure-worker.js';
import type { ErasureScheme } from '../erasure/layout.js';
import type { PieceFile } from '../erasure/piece-files.js';
import type { ShardDigest } from '../storage/merkle.js';
import { TEMPORARY } from './constants.js';
import type { ShardRow } from './index-db.js';
import type { PieceSchemes } from './piece-schemes.js';
import type { OwnerContracts } from './ports.js';
import type { ShardPlacement } from './placement.js';
import type { ShardWriter } from './shard-writer.js';

export interface PiecePlacementDeps {
  placement: Pick<ShardPlacement, 'excluded' | 'keep' | 'shardPlacer'>;
  schemes: Pick<PieceSchemes, 'record'>;
  worker: Pick<ErasureWorker, 'encode'>;
  /** To cancel the pieces of a shard that could not get K of them placed. */
  contracts: Pick<OwnerContracts, 'cancel'>;
  /** Where piece files are written while they upload. */
  outbox: string;
}

export class PiecePlacement {
  constructor(private readonly deps: PiecePlacementDeps) {}

  /**
   * Codes a finished shard K of N and places each piece on its own host; keeps the shard as
   * our local copy. Fewer than K pieces placed: the shard could not be restored from hosts, so
   * it rejects (NegotiationError), the pieces placed are cancelled and the file is gone; K to N − 1 placed is a shortfall that
   * repair fills later. Returns the shard's hash and the pieces placed.
   */
  async placeNew(writer: ShardWriter, scheme: ErasureScheme, kind: ShardRow['kind'], digest: ShardDigest): Promise<{ hash: Uint8Array; contracts: number }> {
    const dir = path.join(this.deps.outbox, `${randomBytes(8).toString('hex')}.pieces`);
    try {
      await fs.mkdir(dir, { mode: 0o700 });
      const { pieces } = await this.deps.worker.encode(writer.file, scheme, pieceNames(dir, scheme.n), TEMPORARY);
      const placed = await this.placePieces(digest.hash, digest.size, scheme, pieces, []);
      if (placed.contracts.length < scheme.k) {
        // Fewer than K: useless on the hosts, so their contracts end now (no orphan pieces).
        await Promise.all(placed.contracts.map((c) => this.deps.contracts.cancel(c)));
        throw new NegotiationError(`only ${placed.contracts.length} of the ${scheme.k} pieces needed found a host: ${placed.refusals.map((r) => r.reason).join(', ') || 'every upload failed'}`, placed.refusals);
      }
      await this.deps.placement.keep(writer, digest, scheme.n, kind);
      this.deps.schemes.record(digest.hash, scheme);
      return { hash: digest.hash, contracts: placed.contracts.length };
    } catch (err) {
      await writer.discard();
      throw err;
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Places each of `pieces` (files of the shard `shard`) on one new host: never a host in
   * `holders` (those keeping other pieces of it), never two pieces on one host, never a host
   * that failed an audit. Negotiated one piece at a time, so each negotiation knows the hosts
   * taken; uploads overlap the next negotiation.
   * A piece nobody took is left out (its refusals reported).
   */
  async placePieces(shard: Uint8Array, shardSize: number, scheme: ErasureScheme, pieces: readonly PieceFile[], holders: readonly Uint8Array[]): Promise<{ contracts: StoredContract[]; refusals: Refusal[] }> {
    const taken = [...holders];
    const contracts: StoredContract[] = [];
    const refusals: Refusal[] = [];
    const uploads: Promise<void>[] = [];
    for (const p of pieces) {
      // leafHashes are not needed to place (only hash, root and size are): the worker hashed the piece as it wrote it.
      const digest: ShardDigest = { hash: p.id, root: p.root, size: p.size, leafHashes: [] };
      let agreed!: () => void;
      const negotiated = new Promise<void>((resolve) => (agreed = resolve));
      const placing = this.deps.placement.shardPlacer
        .place(p.path, {
          replicas: 1,
          digest,
          exclude: [...taken, ...this.deps.placement.excluded()],
          piece: { shard, shardSize, index: p.index, k: scheme.k, n: scheme.n },
          // The next piece is negotiated while this one uploads: it only needs to know the host taken.
          negotiated: (hosts) => {
            taken.push(...hosts);
            agreed();
          },
        })
        .then(
          (result) => {
            refusals.push(...result.refusals);
            contracts.push(...result.contracts);
          },
          (err: unknown) => {
            // Nobody took this piece now: the others may still find hosts; repair tries it again.
            if (err instanceof NegotiationError) refusals.push(...err.refusals);
            else throw err;
          },
        )
        .finally(agreed);
      uploads.push(placing);
      await negotiated;
    }
    // Every upload settled before an unexpected failure is thrown: none is left running unobserved.
    const failed = (await Promise.allSettled(uploads)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return { contracts, refusals };
  }
}

/** Piece file names in `dir`, index order. */
export function pieceNames(dir: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => path.join(dir, `piece-${i}`));
}
