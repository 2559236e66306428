/**
 * Putting shards on hosts, in one place: a new shard (then kept as our local copy and indexed)
 * or more replicas of one we have. Never on a host that failed an audit.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Clock } from '../util/clock.js';
import { fsyncDir } from '../util/atomic-file.js';
import { toHex } from '../util/bytes.js';
import { NegotiationError } from '../contracts/negotiation.js';
import type { ShardDigest } from '../storage/merkle.js';
import type { BackupIndex, ShardRow } from './index-db.js';
import type { ShardPlacer } from './ports.js';
import type { ShardWriter } from './shard-writer.js';

export class ShardPlacement {
  /**
   * Hosts that failed an audit (lost or altered data), by hex key: no shard is placed on them
   * again. Found by test/faults/lies-shards.test.ts: keyed by shard alone, a host that had just
   * failed an audit of one shard was given another one by the same repair pass.
   */
  private readonly failedHosts = new Map<string, Uint8Array>();

  constructor(
    private readonly placer: ShardPlacer,
    private readonly index: BackupIndex,
    /** Where placed shards are kept as our local copies. */
    private readonly own: string,
    private readonly clock: Clock,
  ) {}

  /** The host failed an audit: it gets no shard again. */
  exclude(host: Uint8Array): void {
    this.failedHosts.set(toHex(host), host);
  }

  /**
   * Places a finished shard file on `replicas` hosts and records it; keeps the file as our
   * local copy. With no host at all it rejects (NegotiationError) and the file is gone.
   */
  async placeNew(writer: ShardWriter, replicas: number, kind: ShardRow['kind'], digest: ShardDigest): Promise<{ hash: Uint8Array; contracts: number }> {
    let placed;
    try {
      placed = await this.placer.place(writer.file, { replicas, digest, exclude: [...this.failedHosts.values()] });
    } catch (err) {
      await writer.discard();
      throw err;
    }
    if (placed.contracts.length === 0) {
      await writer.discard();
      throw new NegotiationError(`no host stored the shard: ${placed.refusals.map((r) => r.reason).join(', ') || 'every upload failed'}`, placed.refusals);
    }
    await this.keep(writer, { hash: placed.hash, size: placed.size, root: placed.merkleRoot }, replicas, kind);
    return { hash: placed.hash, contracts: placed.contracts.length };
  }

  /** Hosts that failed an audit (never given a shard or piece again). */
  excluded(): Uint8Array[] {
    return [...this.failedHosts.values()];
  }

  /** Keeps a placed shard's file as our local copy and records it (`replicas`: hosts wanted, N for pieces). */
  async keep(writer: ShardWriter, digest: Pick<ShardDigest, 'hash' | 'size' | 'root'>, replicas: number, kind: ShardRow['kind']): Promise<void> {
    const localPath = path.join(this.own, toHex(digest.hash));
    await fs.rename(writer.file, localPath);
    await fsyncDir(this.own);
    this.index.addShard({ hash: digest.hash, size: digest.size, merkleRoot: digest.root, replicas, kind, localPath, createdAt: this.clock.now() }, writer.chunks);
  }

  /** The placer itself (piece placement asks it for one host per piece). */
  get shardPlacer(): ShardPlacer {
    return this.placer;
  }

  /**
   * Places `replicas` more copies of the shard in `file` (a repair), never on the hosts in
   * `holders` (never two replicas on one host). Returns how many were placed.
   */
  async placeMore(file: string, replicas: number, holders: Uint8Array[]): Promise<number> {
    const result = await this.placer.place(file, { replicas, exclude: [...holders, ...this.failedHosts.values()] });
    return result.contracts.length;
  }
}
