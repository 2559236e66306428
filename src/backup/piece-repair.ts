/**
 * Repair of erasure-coded shards: when a shard's lasting pieces fall to the repair threshold
 * (src/erasure/plan.ts `repairThreshold`: for 2/4 and 3/6 the first loss), every missing piece
 * is rebuilt and placed on a new host. The source is our local copy of the shard when we have
 * it (nothing downloaded), else the shard fetched back from any K pieces (K pieces downloaded,
 * each verified); the pieces are then coded again from the shard (coding is deterministic: a
 * rebuilt piece is byte for byte the lost one, with the same ID and root). Whole-copy shards
 * are repair.ts's.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ErasureWorker } from '../erasure/erasure-worker.js';
import { pieceSizeFor } from '../erasure/layout.js';
import { planRepair } from '../erasure/plan.js';
import { TEMPORARY } from './constants.js';
import { isLasting } from './audit-policy.js';
import type { BackupIndex } from './index-db.js';
import type { OwnerContracts } from './ports.js';
import { pieceNames, type PiecePlacement } from './piece-placement.js';
import { piecesOf, type PieceSchemes } from './piece-schemes.js';
import type { ReplicaLocator } from './replica-locator.js';

export interface PieceRepairDeps {
  index: Pick<BackupIndex, 'shards'>;
  contracts: Pick<OwnerContracts, 'live'>;
  schemes: Pick<PieceSchemes, 'schemeOf'>;
  locator: Pick<ReplicaLocator, 'localCopy' | 'pieces'>;
  placement: Pick<PiecePlacement, 'placePieces'>;
  worker: Pick<ErasureWorker, 'encode'>;
  clock: { now(): number };
  /** See BackupEngineOptions.renewBeforeFraction. */
  renewBeforeFraction: number;
  /** Where rebuilt pieces are written while they upload. */
  tmp: string;
}

export interface PieceRepairReport {
  /** Pieces placed on new hosts. */
  placed: number;
  /** Shards with fewer than K lasting pieces and no local copy: nothing can rebuild them. */
  lost: number;
  /** Bytes downloaded and uploaded for repairs (what a lost piece costs). */
  downloadBytes: number;
  uploadBytes: number;
}

export class PieceRepairer {
  /** Repairs that failed (no source, nobody to place on); the next pass tries again. */
  failures = 0;

  constructor(private readonly deps: PieceRepairDeps) {}

  /** One pass over every erasure-coded shard, one shard at a time (a repair holds N piece files on disk). */
  async run(): Promise<PieceRepairReport> {
    const { index, contracts, schemes, locator, clock } = this.deps;
    const report: PieceRepairReport = { placed: 0, lost: 0, downloadBytes: 0, uploadBytes: 0 };
    const now = clock.now();
    for (const shard of index.shards()) {
      const pieces = piecesOf(contracts.live(), shard.hash);
      const scheme = schemes.schemeOf(shard.hash, pieces);
      if (!scheme) continue;
      const lasting = pieces.filter((c) => isLasting(c.contract.terms, now, this.deps.renewBeforeFraction));
      const local = await locator.localCopy(shard);
      const plan = planRepair({ scheme, live: lasting.map((c) => c.contract.terms.piece!.index), pieceSize: pieceSizeFor(shard.size, scheme.k), localCopy: local !== null });
      if (plan.action === 'lost') report.lost++;
      if (plan.action !== 'repair') continue;
      const dir = await fs.mkdtemp(path.join(this.deps.tmp, 'repair-'));
      try {
        const source = local ?? (await locator.pieces.fetch(shard.hash, pieces.filter((c) => c.state === 'active'), dir));
        if (!source) {
          this.failures++;
          continue;
        }
        const encoded = await this.deps.worker.encode(source, scheme, pieceNames(dir, scheme.n), TEMPORARY);
        const rebuilt = encoded.pieces.filter((p) => plan.rebuild.includes(p.index));
        // Never on a host that keeps a piece of this shard (an expiring one's renewal goes elsewhere).
        const placed = await this.deps.placement.placePieces(shard.hash, shard.size, scheme, rebuilt, pieces.map((c) => c.counterpart));
        report.placed += placed.contracts.length;
        // What the fetch really took (K pieces, and any hedged or failed request), not the plan's K pieces.
        if (!local) report.downloadBytes += locator.pieces.last.downloadedBytes;
        report.uploadBytes += placed.contracts.reduce((sum, c) => sum + c.contract.terms.shardSize, 0);
        if (placed.contracts.length < rebuilt.length) this.failures++;
      } catch {
        // Nobody available now, or the pieces could not be had: the next pass tries again.
        this.failures++;
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    }
    return report;
  }
}
