/**
 * Placing a shard as an owner, in one place: digest the file (unless the caller hashed it while
 * writing it), negotiate contracts with `replicas` hosts, upload to all of them (at most
 * `uploadConcurrency` uploads at once across the peer). An upload that fails cancels its
 * contract, puts its host in backoff (host-backoff.ts) and is negotiated again with another
 * host, up to `placementRounds` rounds. This is the backup engine's ShardPlacer.
 */
import { constants, createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import PQueue from 'p-queue';
import { NegotiationError, type NegotiationRequest, type NegotiationResult, type Refusal, type RefusalCode } from '../contracts/negotiation.js';
import { refusalText } from '../contracts/refusals.js';
import type { ContractStore, StoredContract } from '../contracts/store.js';
import type { ShardDigest } from '../storage/merkle.js';
import { ParallelShardHasher } from '../storage/parallel-hasher.js';
import type { PlaceOptions, PlacedShard as EnginePlacedShard, ShardPlacer } from '../backup/ports.js';
import type { OwnerTransfers } from './owner-transfers.js';
import { DEFAULTS } from './options.js';
import { HostBackoff } from './host-backoff.js';
import type { Clock } from '../util/clock.js';
import { parseAddress } from '../net/address.js';

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
  clock: Pick<Clock, 'now'>;
}

/** Refusals that put a host in backoff: it cannot take data now, asking again soon is wasted. */
const BACKOFF_REFUSALS = new Set<RefusalCode>(['DISK_FULL', 'READ_ONLY']);

export class PeerPlacer implements ShardPlacer {
  private readonly uploads: PQueue;
  /** Hosts that just failed an upload or refused for a full disk: not asked again for a while. */
  readonly backoff = new HostBackoff();

  constructor(
    private readonly components: PlacementComponents,
    private readonly init: { uploadConcurrency: number; placementRounds: number },
  ) {
    this.uploads = new PQueue({ concurrency: init.uploadConcurrency });
  }

  async place(file: string, options: PlaceOptions): Promise<PlacedShard> {
    const { hash, root, size } = options.digest ?? (await digestFile(file));
    const now = () => this.components.clock.now();
    // Never asked: the caller's exclusions (holders, hosts that lost data) and hosts in backoff.
    const exclude = [...(options.exclude ?? []), ...this.backoff.waiting(now())];
    const contracts: StoredContract[] = [];
    const refusals: Refusal[] = [];
    const failedUploads: PlacedShard['failedUploads'] = [];
    // Rounds: an upload that fails (host died mid-PUT, refused, disk full) is negotiated again
    // with another host, so the shard ends short only when no further host takes it.
    for (let round = 0; round < this.init.placementRounds && contracts.length < options.replicas; round++) {
      let negotiation: NegotiationResult;
      try {
        negotiation = await this.components.negotiate({ shardHash: hash, shardSize: size, merkleRoot: root, replicas: options.replicas - contracts.length, exclude, ...(options.piece ? { piece: options.piece } : {}) });
      } catch (err) {
        // No host at all: in the first round that is the caller's NegotiationError; later, what we have is the result.
        if (round === 0 || !(err instanceof NegotiationError)) throw err;
        refusals.push(...err.refusals);
        break;
      }
      refusals.push(...negotiation.refusals);
      options.negotiated?.(negotiation.contracts.map((c) => c.counterpart));
      for (const r of negotiation.refusals) if (r.host && BACKOFF_REFUSALS.has(r.reason)) this.backoff.failed(r.host, refusalText(r.reason), now());
      const outcomes = await Promise.all(negotiation.contracts.map((c) => this.uploads.add(() => this.uploadOne(c, file))));
      let failedThisRound = 0;
      // Our own shard file gone or unreadable fails every upload, which is no fault of the hosts'
      // (the host only sees the connection end): no backoff for them, and no other host asked.
      const ourFault = outcomes.some((o) => 'reason' in o) && !(await readable(file));
      negotiation.contracts.forEach((c, i) => {
        exclude.push(c.counterpart);
        const outcome = outcomes[i]!;
        if ('reason' in outcome) {
          failedThisRound++;
          failedUploads.push({ host: c.counterpart, reason: outcome.reason });
          if (c.counterpartAddress) refusals.push({ address: parseAddress(c.counterpartAddress), host: c.counterpart, reason: 'UPLOAD_FAILED' });
          if (!ourFault) this.backoff.failed(c.counterpart, outcome.reason, now());
        } else {
          contracts.push(outcome.stored);
          this.backoff.succeeded(c.counterpart);
        }
      });
      // Short without a failed upload: negotiation found no more hosts, another round would not either.
      if (failedThisRound === 0 || ourFault) break;
    }
    return { hash, size, merkleRoot: root, contracts, refusals, failedUploads };
  }

  /** Uploads to one host; a failure cancels the contract and says why. */
  private async uploadOne(c: StoredContract, file: string): Promise<{ stored: StoredContract } | { reason: string }> {
    try {
      await this.components.transfers.upload(c, file);
      return { stored: this.components.store.get(c.contract.id)! };
    } catch (err) {
      // Not dropped: reported in `failedUploads` and `refusals`, the host backs off, and the contract is cancelled.
      const reason = err instanceof Error ? err.message : String(err);
      await this.components.cancel(c).catch(() => {});
      return { reason };
    }
  }

  /** Drops uploads that have not started (the peer is stopping). */
  clear(): void {
    this.uploads.clear();
  }
}

async function readable(file: string): Promise<boolean> {
  return access(file, constants.R_OK).then(
    () => true,
    () => false,
  );
}

/** The digest of a shard file, read in pieces and hashed on the worker thread. */
async function digestFile(file: string): Promise<ShardDigest> {
  const hasher = new ParallelShardHasher();
  for await (const chunk of createReadStream(file, { highWaterMark: DEFAULTS.digestReadBytes })) await hasher.write(chunk as Buffer);
  return hasher.digest();
}
