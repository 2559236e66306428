/**
 * Where our shards are: our local copy, or the hosts under contract for them at their last
 * known address or wherever their peer record says they moved. Every download lands in a new
 * temporary file, verified, or leaves nothing.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type Address, formatAddress, parseAddress } from '../net/address.js';
import type { StoredContract } from '../contracts/store.js';
import type { ShardTarget } from '../transfer/client.js';
import { ErasureWorker } from '../erasure/erasure-worker.js';
import { firstThatWorks } from './first-that-works.js';
import { PieceFetcher } from './piece-fetch.js';
import { piecesOf } from './piece-schemes.js';
import type { ShardRow } from './index-db.js';
import type { OwnerContracts, PeerFinder, ShardFetcher } from './ports.js';

export class ReplicaLocator {
  /** Downloads and peer lookups that failed (each one only meant: try the next). */
  failures = 0;
  /** Erasure-coded shards: fetched as pieces (piece-fetch.ts). */
  readonly pieces: PieceFetcher;

  constructor(
    private readonly ports: { contracts: Pick<OwnerContracts, 'live'>; fetcher: ShardFetcher; peers: PeerFinder },
    /** Where downloads go unless the caller names a directory. */
    private readonly tmp: string,
    worker: Pick<ErasureWorker, 'decodeInPlace'> = new ErasureWorker(),
  ) {
    this.pieces = new PieceFetcher({ addressesOf: (c) => this.addressesOf(c), fetchInto: (a, t, sink, o) => this.ports.fetcher.fetchInto(a, t, sink, o), worker });
  }

  /**
   * A verified copy of the shard `hash` from the network, into a new file in `dir`: rebuilt
   * from K of its pieces if it is erasure-coded, else from the first host of a whole copy that
   * supplies it. Null if the hosts cannot supply it.
   */
  async fetchShard(hash: Uint8Array, dir = this.tmp, direct = true): Promise<string | null> {
    const live = this.ports.contracts.live();
    const pieces = piecesOf(live, hash);
    if (pieces.length === 0) return this.fetchFromAny(contractsFor(live, hash), dir, direct);
    return this.pieces.fetch(hash, pieces, dir).catch(() => {
      this.failures++;
      return null;
    });
  }

  /** Live contracts (pending or active) for the shard `hash`. */
  liveContracts(hash: Uint8Array): StoredContract[] {
    return contractsFor(this.ports.contracts.live(), hash);
  }

  /** Live contracts keeping the shard `hash`: whole copies, or its pieces if it is erasure-coded. */
  holders(hash: Uint8Array): StoredContract[] {
    const live = this.ports.contracts.live();
    const pieces = piecesOf(live, hash);
    return pieces.length > 0 ? pieces : contractsFor(live, hash);
  }

  /** Our own copy of the shard, if it is still on disk. */
  async localCopy(row: Pick<ShardRow, 'localPath'> | undefined): Promise<string | null> {
    return row?.localPath && (await exists(row.localPath)) ? row.localPath : null;
  }

  /** A verified copy downloaded from the first of `contracts` whose host supplies it; null if none does. */
  fetchFromAny(contracts: StoredContract[], dir = this.tmp, direct = true): Promise<string | null> {
    return firstThatWorks(
      this.sources(contracts),
      ({ contract, address }) => this.download(address, contract.contract, dir, direct),
      () => this.failures++,
    );
  }

  /** Downloads one shard from the host at `address` into a new file in `dir`; a bad copy rejects and leaves nothing. */
  async download(address: Address, target: ShardTarget, dir = this.tmp, direct = true): Promise<string> {
    const file = path.join(dir, `${randomBytes(8).toString('hex')}.part`);
    try {
      await this.ports.fetcher.fetchToFile(address, target, file, { direct });
      return file;
    } catch (err) {
      await fs.rm(file, { force: true });
      throw err;
    }
  }

  /**
   * Where a host may be: its last known address first, then (looked up only when asked for)
   * the address in its peer record, in case it moved.
   */
  async *addressesOf(c: StoredContract): AsyncGenerator<Address> {
    const known = c.counterpartAddress ? parseAddress(c.counterpartAddress) : null;
    if (known) yield known;
    const found = await this.find(c.counterpart);
    if (found && (!known || formatAddress(found) !== formatAddress(known))) yield found;
  }

  /** Where the host with this key is now; null if its record is not found (a failed lookup counts, and means the same). */
  async find(host: Uint8Array): Promise<Address | null> {
    return this.ports.peers.find(host).catch(() => {
      this.failures++;
      return null;
    });
  }

  /** Every (contract, address) pair to try, in order, each address looked up only when reached. */
  private async *sources(contracts: StoredContract[]): AsyncGenerator<{ contract: StoredContract; address: Address }> {
    for (const contract of contracts) for await (const address of this.addressesOf(contract)) yield { contract, address };
  }
}

/** The contracts among `contracts` that cover the shard `hash`. */
export function contractsFor(contracts: StoredContract[], hash: Uint8Array): StoredContract[] {
  return contracts.filter((c) => Buffer.from(c.contract.terms.shardHash).equals(hash));
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
