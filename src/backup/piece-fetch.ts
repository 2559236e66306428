/**
 * Getting an erasure-coded shard back from its hosts, streaming: every piece goes straight from
 * its socket into its place in one assembly file (src/erasure/assembly.ts: piece i at i × P),
 * checked against its contract (size, ID, Merkle root) as it streams, its leaves hashed on the
 * hash worker. No piece file is written and nothing is read twice on the common path:
 *
 * - The race (src/erasure/plan.ts `PieceFetchRace`) starts exactly K requests, data pieces first.
 *   Another starts only beside one that fails (refused, cut, or a piece that does not verify:
 *   its bytes are never used) or is slow (src/erasure/hedge.ts: projected to take twice as long
 *   as the others). Once K pieces verified, the rest are cancelled (their connections cut).
 * - If the K are the data pieces (the code is systematic), the shard is already in the file:
 *   it is cut to size and its ID checked from the pieces' own leaf hashes, no decoding at all.
 * - Otherwise the missing data pieces are decoded stripe by stripe on the erasure worker from
 *   the K verified pieces in the file, and the shard hashed there against its ID.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { StoredContract } from '../contracts/store.js';
import type { ErasureWorker } from '../erasure/erasure-worker.js';
import { HEDGE } from '../erasure/constants.js';
import { type HedgePolicy, hedgePolicy, newProgress, type RequestProgress, slowRequests, updateMarks } from '../erasure/hedge.js';
import { type ErasureScheme, layoutFor, type PieceLayout } from '../erasure/layout.js';
import { pieceOffset } from '../erasure/assembly.js';
import { type FetchActions, PieceFetchRace } from '../erasure/plan.js';
import type { Address } from '../net/address.js';
import type { ShardTarget } from '../transfer/client.js';
import type { ReceiveOptions } from '../transfer/verified-receive.js';
import type { SlotSink } from '../storage/parallel-hasher.js';
import type { ShardDigest } from '../storage/merkle.js';
import { bytesEqual } from '../util/bytes.js';
import { DirectWriteFile } from '../util/direct-io.js';
import { writeAtAnyOffset } from '../util/misaligned-write.js';
import { firstThatWorks } from './first-that-works.js';
import { PIECE_HASH_SLOTS, PIECE_SLOW_AFTER_MS } from './constants.js';

export interface PieceFetchDeps {
  /** Where the host of a contract may be (last known address, then its peer record). */
  addressesOf(c: StoredContract): AsyncIterable<Address>;
  /** Downloads one piece into `sink`, verified as it streams (transfer/client.ts `getInto`). */
  fetchInto(address: Address, target: ShardTarget, sink: SlotSink, options: ReceiveOptions): Promise<ShardDigest>;
  worker: Pick<ErasureWorker, 'decodeInPlace'>;
  /** When a request counts as slow (defaults: HEDGE, stall after PIECE_SLOW_AFTER_MS). */
  hedge?: Partial<HedgePolicy>;
  /** The clock for hedging (ms); default performance.now. */
  now?: () => number;
}

export interface PieceFetchReport {
  /** Pieces that failed (unreachable host, refused, or did not verify). */
  failed: number[];
  /** Pieces used for the shard. */
  used: number[];
  /** Requests that were slow, each of which got a reserve beside it. */
  hedged: number[];
  /** Whether data pieces had to be decoded (false: the data pieces were joined). */
  decoded: boolean;
  /** Piece bytes received, cancelled and failed requests included (what the fetch cost). */
  downloadedBytes: number;
}

interface Running extends RequestProgress {
  abort: AbortController;
  settled: Promise<void>;
}

export class PieceFetcher {
  /** What the last fetch did (tests and status read it). */
  last: PieceFetchReport = { failed: [], used: [], hedged: [], decoded: false, downloadedBytes: 0 };
  /** Counts over every fetch so far: shards rebuilt, requests hedged, shards decoded (not joined), pieces failed. */
  readonly totals = { shards: 0, hedged: 0, decoded: 0, failed: 0, downloadedBytes: 0 };
  private readonly policy: HedgePolicy;
  private readonly now: () => number;

  constructor(private readonly deps: PieceFetchDeps) {
    this.policy = hedgePolicy({ stallMs: PIECE_SLOW_AFTER_MS, ...deps.hedge });
    this.now = deps.now ?? (() => performance.now());
  }

  /**
   * The shard `hash` rebuilt from K of its pieces (`contracts`: live piece contracts of it)
   * into a new file in `dir`; null when fewer than K pieces could be had.
   */
  async fetch(hash: Uint8Array, contracts: readonly StoredContract[], dir: string): Promise<string | null> {
    const first = contracts[0]?.contract.terms.piece;
    if (!first) return null;
    const scheme: ErasureScheme = { k: first.k, n: first.n };
    const byIndex = new Map<number, StoredContract[]>();
    for (const c of contracts) {
      const p = c.contract.terms.piece!;
      if (p.k !== scheme.k || p.n !== scheme.n || p.shardSize !== first.shardSize) continue;
      byIndex.set(p.index, [...(byIndex.get(p.index) ?? []), c]);
    }
    const layout = layoutFor(scheme, first.shardSize);
    const report: PieceFetchReport = { failed: [], used: [], hedged: [], decoded: false, downloadedBytes: 0 };
    const shardPath = path.join(dir, `${randomBytes(8).toString('hex')}.part`);
    const out = await DirectWriteFile.create(shardPath);
    let closed = false;
    const running = new Map<number, Running>();
    const finished: number[] = [];
    const race = new PieceFetchRace(scheme, [...byIndex.keys()].map((index) => ({ index })), HEDGE.extraAtStart);
    let ticker: NodeJS.Timeout | null = null;
    try {
      const status = await new Promise<'done' | 'lost'>((resolve) => {
        const apply = (a: FetchActions): void => {
          for (const index of a.cancel) running.get(index)?.abort.abort();
          for (const index of a.start) start(index);
          if (a.status !== 'fetching') resolve(a.status);
        };
        const start = (index: number): void => {
          const abort = new AbortController();
          const r: Running = { ...newProgress(index, this.now()), abort, settled: Promise.resolve() };
          const sink: SlotSink = (data, position) => writeAtAnyOffset(out, data, pieceOffset(layout, index) + position);
          r.settled = this.download(byIndex.get(index)!, sink, { signal: abort.signal, slots: PIECE_HASH_SLOTS, onBytes: (b) => {
            // A retry on another host of the piece starts again from 0.
            report.downloadedBytes += b >= r.bytes ? b - r.bytes : b;
            if (b !== r.bytes) r.lastByteAt = this.now();
            r.bytes = b;
          } }).then((digest) => {
            running.delete(index);
            if (digest) finished.push(this.now() - r.startedAt);
            else if (!abort.signal.aborted) report.failed.push(index);
            apply(digest ? race.arrived(index) : race.failed(index));
          });
          running.set(index, r);
        };
        ticker = setInterval(() => {
          const now = this.now();
          for (const r of running.values()) updateMarks(r, now, this.policy.rateWindowMs);
          const slow = slowRequests([...running.values()], finished, layout.pieceSize, now, this.policy);
          for (const index of slow) {
            if (report.hedged.includes(index)) continue;
            report.hedged.push(index);
            apply(race.slowed(index));
          }
        }, HEDGE.checkEveryMs);
        apply(race.begin());
      });
      clearInterval(ticker!);
      // Cancelled requests stop writing before the file is cut or decoded.
      for (const r of running.values()) r.abort.abort();
      await Promise.all([...running.values()].map((r) => r.settled));
      if (status === 'lost') return null;
      const used = race.arrivedPieces().sort((a, b) => a - b);
      const digest = await this.finish(out, shardPath, layout, used);
      closed = true;
      report.decoded = used.some((i) => i >= layout.k);
      // Every piece checked out against its root as it streamed. A decoded shard is checked
      // against its ID too (a wrong decode must not reach the chunks unnoticed; see finish).
      if (digest && !bytesEqual(digest.hash, hash)) throw new Error('the shard rebuilt from its pieces does not match its ID');
      report.used = used;
      return shardPath;
    } finally {
      if (ticker) clearInterval(ticker);
      for (const r of running.values()) r.abort.abort();
      if (!closed) await out.close().catch(() => {});
      if (report.used.length === 0) await fs.rm(shardPath, { force: true });
      this.last = report;
      this.totals.shards += report.used.length > 0 ? 1 : 0;
      this.totals.hedged += report.hedged.length;
      this.totals.decoded += report.decoded ? 1 : 0;
      this.totals.failed += report.failed.length;
      this.totals.downloadedBytes += report.downloadedBytes;
    }
  }

  /**
   * Cuts the assembly file to the shard (decoding first unless the K are the data pieces) and
   * returns the decoded shard's digest; null for joined data pieces, which are not hashed again:
   * every byte of them passed its piece's Merkle root check (the roots are in our own signed
   * contract terms) on its way in, and every chunk read out of the shard is authenticated again
   * when it is opened (AES-GCM). The shard's own leaves straddle the pieces (P is a multiple of 8,
   * not of the 64 KiB leaf), so its ID would take a second SHA-256 pass over the shard: on a
   * 2-core machine, much of what a coded restore cost beyond a replica's (docs/benchmarks.md).
   */
  private async finish(out: DirectWriteFile, file: string, layout: PieceLayout, used: number[]): Promise<ShardDigest | null> {
    if (used.every((i) => i < layout.k)) {
      await out.handle.truncate(layout.shardSize);
      await out.close();
      return null;
    }
    await out.close();
    return this.deps.worker.decodeInPlace(file, { k: layout.k, n: layout.n }, layout.shardSize, used);
  }

  /** One piece from the first of its hosts (normally one) that supplies it; null if none does or it was cancelled. */
  private download(contracts: StoredContract[], sink: SlotSink, options: ReceiveOptions): Promise<ShardDigest | null> {
    const sources = async function* (addressesOf: PieceFetchDeps['addressesOf']) {
      for (const contract of contracts) for await (const address of addressesOf(contract)) yield { contract, address };
    };
    return firstThatWorks(sources(this.deps.addressesOf), ({ contract, address }) => {
      if (options.signal?.aborted) return Promise.reject(new Error('cancelled'));
      return this.deps.fetchInto(address, contract.contract, sink, options);
    }).catch(() => null);
  }
}
