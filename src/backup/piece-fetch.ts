/**
 * Getting an erasure-coded shard back from its hosts: a race for K pieces (src/erasure/plan.ts
 * `PieceFetchRace`: K + 1 requests at once, a reserve started for each failure and beside each
 * slow one, the slow ones cancelled once K arrived), each piece downloaded verified against its
 * contract (size, ID, Merkle root: a corrupted piece fails there and another is fetched), then
 * decoded on the erasure worker into the shard file (K data pieces are joined, nothing to decode),
 * which is checked against the shard ID.
 *
 * "Cancelled" means the race stops waiting for it: the transfer client has no abort yet, so the
 * download runs to its end in the background and its file is removed.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { StoredContract } from '../contracts/store.js';
import type { ErasureWorker } from '../erasure/erasure-worker.js';
import { type FetchActions, PieceFetchRace } from '../erasure/plan.js';
import type { Address } from '../net/address.js';
import type { ShardTarget } from '../transfer/client.js';
import { ParallelShardHasher } from '../storage/parallel-hasher.js';
import type { ShardDigest } from '../storage/merkle.js';
import { bytesEqual } from '../util/bytes.js';
import { firstThatWorks } from './first-that-works.js';
import { PIECE_SLOW_AFTER_MS, TEMPORARY } from './constants.js';

export interface PieceFetchDeps {
  /** Where the host of a contract may be (last known address, then its peer record). */
  addressesOf(c: StoredContract): AsyncIterable<Address>;
  /** Downloads one piece, verified, into a new file in `dir`; rejects and leaves nothing if it does not verify. */
  download(address: Address, target: ShardTarget, dir: string, direct: boolean): Promise<string>;
  worker: Pick<ErasureWorker, 'decode'>;
  /** ms before a piece still downloading counts as slow and a reserve starts beside it (default PIECE_SLOW_AFTER_MS). */
  slowAfterMs?: number;
}

export interface PieceFetchReport {
  /** Pieces that failed (unreachable host, refused, or did not verify). */
  failed: number[];
  /** Pieces used for the shard. */
  used: number[];
}

export class PieceFetcher {
  /** What the last fetch did (tests and status read it). */
  last: PieceFetchReport = { failed: [], used: [] };

  constructor(private readonly deps: PieceFetchDeps) {}

  /**
   * The shard `hash` rebuilt from K of its pieces (`contracts`: live piece contracts of it)
   * into a new file in `dir`; null when fewer than K pieces could be had.
   */
  async fetch(hash: Uint8Array, contracts: readonly StoredContract[], dir: string): Promise<string | null> {
    const first = contracts[0]?.contract.terms.piece;
    if (!first) return null;
    const scheme = { k: first.k, n: first.n };
    const byIndex = new Map<number, StoredContract[]>();
    for (const c of contracts) {
      const p = c.contract.terms.piece!;
      if (p.k !== scheme.k || p.n !== scheme.n || p.shardSize !== first.shardSize) continue;
      byIndex.set(p.index, [...(byIndex.get(p.index) ?? []), c]);
    }
    const work = await fs.mkdtemp(path.join(dir, 'pieces-'));
    const report: PieceFetchReport = { failed: [], used: [] };
    const files = new Map<number, string>();
    const timers = new Map<number, NodeJS.Timeout>();
    const race = new PieceFetchRace(scheme, [...byIndex.keys()].map((index) => ({ index })));
    try {
      const status = await new Promise<'done' | 'lost'>((resolve) => {
        const apply = (a: FetchActions): void => {
          for (const index of a.cancel) clearTimeout(timers.get(index));
          for (const index of a.start) start(index);
          if (a.status !== 'fetching') resolve(a.status);
        };
        const start = (index: number): void => {
          timers.set(index, setTimeout(() => apply(race.slowed(index)), this.deps.slowAfterMs ?? PIECE_SLOW_AFTER_MS));
          void this.download(byIndex.get(index)!, work).then((file) => {
            clearTimeout(timers.get(index));
            if (file) files.set(index, file);
            else report.failed.push(index);
            apply(file ? race.arrived(index) : race.failed(index));
          });
        };
        apply(race.begin());
      });
      if (status === 'lost') return null;
      const used = race.arrivedPieces();
      const candidates = used.map((index) => ({ index, path: files.get(index)!, root: byIndex.get(index)![0]!.contract.terms.merkleRoot }));
      const shardPath = path.join(dir, `${randomBytes(8).toString('hex')}.part`);
      await this.deps.worker.decode(candidates, scheme, first.shardSize, shardPath, TEMPORARY);
      // Every piece checked out against its root; the shard is checked against its ID too, as
      // a whole-shard download is (a wrong decode must not reach the chunks unnoticed).
      if (!bytesEqual((await digestFile(shardPath)).hash, hash)) {
        await fs.rm(shardPath, { force: true });
        throw new Error('the decoded shard does not match its ID');
      }
      report.used = used;
      return shardPath;
    } finally {
      for (const t of timers.values()) clearTimeout(t);
      this.last = report;
      // Pieces that arrive after this (cancelled ones) find their directory gone and fail quietly.
      await fs.rm(work, { recursive: true, force: true });
    }
  }

  /** One piece from the first of its hosts (normally one) that supplies it; null if none does. */
  /** Through the page cache (not direct I/O): the decoder reads the piece right after it lands. */
  private download(contracts: StoredContract[], dir: string): Promise<string | null> {
    const sources = async function* (addressesOf: PieceFetchDeps['addressesOf']) {
      for (const contract of contracts) for await (const address of addressesOf(contract)) yield { contract, address };
    };
    return firstThatWorks(sources(this.deps.addressesOf), ({ contract, address }) => this.deps.download(address, contract.contract, dir, false)).catch(() => null);
  }
}

/** The shard file's digest, read 1 MiB at a time and hashed on the hash worker. */
async function digestFile(file: string): Promise<ShardDigest> {
  const hasher = new ParallelShardHasher();
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) await hasher.write(chunk as Buffer);
  return hasher.digest();
}
