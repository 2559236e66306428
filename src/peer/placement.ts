/**
 * Placing a shard as an owner, in one place: digest the file (unless the caller hashed it while
 * writing it), negotiate contracts with `replicas` hosts, upload to all of them (at most
 * `uploadConcurrency` uploads at once across the peer). An upload that fails cancels its
 * contract. This is the backup engine's ShardPlacer.
 */
import { createReadStream } from 'node:fs';
import PQueue from 'p-queue';
import type { NegotiationRequest, NegotiationResult } from '../contracts/negotiation.js';
import type { ContractStore, StoredContract } from '../contracts/store.js';
import type { ShardDigest } from '../storage/merkle.js';
import { ParallelShardHasher } from '../storage/parallel-hasher.js';
import type { PlacedShard as EnginePlacedShard, ShardPlacer } from '../backup/ports.js';
import type { OwnerTransfers } from './owner-transfers.js';
import { DEFAULTS } from './options.js';

/** A shard placed on hosts by `placeShard`: the engine's PlacedShard, and the uploads that failed (their contracts were cancelled). */
export interface PlacedShard extends EnginePlacedShard {
  failedUploads: { host: Uint8Array; reason: string }[];
}

export interface PlacementComponents {
  negotiate(req: NegotiationRequest): Promise<NegotiationResult>;
  /** Cancels a contract whose upload failed (signed notice to the host, best effort). */
  cancel(contract: StoredContract): Promise<void>;
  store: Pick<ContractStore, 'get'>;
  transfers: Pick<OwnerTransfers, 'upload'>;
}

export class PeerPlacer implements ShardPlacer {
  private readonly uploads: PQueue;

  constructor(
    private readonly components: PlacementComponents,
    init: { uploadConcurrency: number },
  ) {
    this.uploads = new PQueue({ concurrency: init.uploadConcurrency });
  }

  async place(file: string, options: { replicas: number; exclude?: Uint8Array[]; digest?: ShardDigest }): Promise<PlacedShard> {
    const { negotiate, cancel, store, transfers } = this.components;
    const { hash, root, size } = options.digest ?? (await digestFile(file));
    const negotiation = await negotiate({ shardHash: hash, shardSize: size, merkleRoot: root, replicas: options.replicas, ...(options.exclude ? { exclude: options.exclude } : {}) });
    const failedUploads: PlacedShard['failedUploads'] = [];
    const uploaded = await Promise.all(
      negotiation.contracts.map((c) =>
        this.uploads.add(async () => {
          try {
            await transfers.upload(c, file);
            return store.get(c.contract.id)!;
          } catch (err) {
            // Not dropped: reported in `failedUploads`, and the contract is cancelled.
            failedUploads.push({ host: c.counterpart, reason: err instanceof Error ? err.message : String(err) });
            await cancel(c);
            return null;
          }
        }),
      ),
    );
    return { hash, size, merkleRoot: root, contracts: uploaded.filter((c): c is StoredContract => c !== null), refusals: negotiation.refusals, failedUploads };
  }

  /** Drops uploads that have not started (the peer is stopping). */
  clear(): void {
    this.uploads.clear();
  }
}

/** The digest of a shard file, read in pieces and hashed on the worker thread. */
async function digestFile(file: string): Promise<ShardDigest> {
  const hasher = new ParallelShardHasher();
  for await (const chunk of createReadStream(file, { highWaterMark: DEFAULTS.digestReadBytes })) await hasher.write(chunk as Buffer);
  return hasher.digest();
}
