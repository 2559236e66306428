/**
 * The streaming piece fetch of src/backup/piece-fetch.ts against real hosts on 127.0.0.1 (an
 * owner and 4 hosts, a real 2/4 backup; a TCP relay in front of one host makes it slow or
 * makes it lie): exactly K requests when the hosts are healthy and the data pieces joined with
 * no decoding; a slow host gets a hedged request beside it and is cut once K pieces verified; a
 * piece altered mid-stream is rejected and replaced; fewer than K hosts is null.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Peer } from '../src/peer/peer.js';
import type { StoredContract } from '../src/contracts/store.js';
import { ErasureWorker } from '../src/erasure/erasure-worker.js';
import { PieceFetcher } from '../src/backup/piece-fetch.js';
import { TransferClient } from '../src/transfer/client.js';
import type { Address } from '../src/net/address.js';
import { toHex } from '../src/util/bytes.js';
import { MiB, startPeers, stopAll, tempDir } from './helpers/peers.js';
import { type RelayBehaviour, TcpRelay } from './helpers/tcp-proxy.js';

describe('streaming piece fetch from real hosts (2 of 4, owner + 4 hosts on 127.0.0.1)', function () {
  this.timeout(120_000);
  let peers: Peer[] = [];
  let owner: Peer;
  const relays: TcpRelay[] = [];
  const worker = new ErasureWorker();
  const dir = tempDir('dbs-piece-fetch-');
  const source = tempDir('dbs-piece-fetch-src-');
  let client: TransferClient;
  /** The largest coded shard: its ID, live piece contracts and the owner's own copy. */
  let shard: { hash: Uint8Array; pieces: StoredContract[]; bytes: Buffer };

  before(async () => {
    peers = await startPeers(5, {
      dht: { maxPerIpPerBucket: Infinity, rateLimit: null, lookupTimeoutMs: 1000, requestTimeoutMs: 1000, retries: 0 },
      backup: { shardSize: 1 * MiB, chunkSizes: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }, hostGraceMs: 0 },
    });
    owner = peers[0]!;
    for (let i = 0; i < 3; i++) writeFileSync(path.join(source, `f${i}.bin`), randomBytes(900 * 1024));
    const result = await owner.backup(source, { erasure: { k: 2, n: 4 } });
    expect(result.shortfall).to.equal(0);
    const byShard = new Map<string, StoredContract[]>();
    for (const c of owner.contractService.store.list({ role: 'owner', live: true })) {
      const p = c.contract.terms.piece;
      if (p) byShard.set(toHex(p.shard), [...(byShard.get(toHex(p.shard)) ?? []), c]);
    }
    const [hex, pieces] = [...byShard].sort((a, b) => b[1][0]!.contract.terms.piece!.shardSize - a[1][0]!.contract.terms.piece!.shardSize)[0]!;
    const own = path.join(owner.dataDir, 'backup', 'shards');
    const local = readdirSync(own).find((n) => n.includes(hex));
    expect(local, 'the owner keeps its own copy').to.not.equal(undefined);
    shard = { hash: Buffer.from(hex, 'hex'), pieces, bytes: readFileSync(path.join(own, local!)) };
    expect(pieces.map((c) => c.contract.terms.piece!.index).sort()).to.deep.equal([0, 1, 2, 3]);
    client = new TransferClient(owner.signing);
  });

  afterEach(async () => {
    for (const r of relays.splice(0)) await r.close();
  });

  after(async () => {
    await worker.close();
    await stopAll(peers);
    for (const d of [dir, source]) rmSync(d, { recursive: true, force: true });
  });

  const indexOf = (c: StoredContract) => c.contract.terms.piece!.index;
  const hostOf = (c: StoredContract) => peers.find((p) => Buffer.from(p.publicKey).equals(c.counterpart))!;

  /**
   * A fetcher over real TCP to the real hosts; the host of piece `through` (if given) is reached
   * through a relay that behaves as told. `asked` records every request, in order.
   */
  async function fetcher(relayed: Map<number, RelayBehaviour> = new Map()): Promise<{ f: PieceFetcher; asked: number[]; relay: Map<number, TcpRelay> }> {
    const asked: number[] = [];
    const relay = new Map<number, TcpRelay>();
    for (const [index, behaviour] of relayed) {
      const c = shard.pieces.find((p) => indexOf(p) === index)!;
      const r = await TcpRelay.start(hostOf(c).address, behaviour);
      relays.push(r);
      relay.set(index, r);
    }
    const f = new PieceFetcher({
      addressesOf: async function* (c: StoredContract): AsyncGenerator<Address> {
        yield relay.get(indexOf(c))?.address ?? hostOf(c).address;
      },
      fetchInto: (address, target, sink, options) => {
        asked.push(indexOf(shard.pieces.find((p) => Buffer.from(p.contract.id).equals(target.id))!));
        return client.getInto(address, target, sink, options);
      },
      worker,
    });
    return { f, asked, relay };
  }

  const leftovers = () => readdirSync(dir);

  it('healthy hosts: exactly K requests, the data pieces, joined without decoding', async () => {
    const { f, asked } = await fetcher();
    const out = await f.fetch(shard.hash, shard.pieces, dir);
    expect(out).to.not.equal(null);
    expect(readFileSync(out!).equals(shard.bytes)).to.equal(true);
    expect(asked.sort()).to.deep.equal([0, 1]);
    expect(f.last).to.deep.include({ used: [0, 1], failed: [], hedged: [], decoded: false });
    rmSync(out!);
    expect(leftovers()).to.deep.equal([]);
  });

  it('a slow host gets a hedged request beside it, and is cut once K pieces verified', async () => {
    // Data piece 1's host sends 16 KiB every 100 ms: its ~0.5 MiB piece would take over three
    // seconds, while the others take milliseconds (a hedge can start after HEDGE.minDelayMs, 1 s).
    const { f, asked, relay } = await fetcher(new Map([[1, { throttle: { bytes: 16 * 1024, pauseMs: 100 } }]]));
    const out = await f.fetch(shard.hash, shard.pieces, dir);
    expect(out).to.not.equal(null);
    expect(readFileSync(out!).equals(shard.bytes)).to.equal(true);
    expect(f.last.hedged).to.deep.equal([1]);
    expect(asked.slice(0, 2).sort()).to.deep.equal([0, 1]);
    expect(asked[2]).to.equal(2);
    expect(f.last).to.deep.include({ used: [0, 2], failed: [], decoded: true });
    // Cancelled, not waited for: the relay's client went away before the piece was all sent.
    const slow = relay.get(1)!;
    await waitFor(() => slow.cutByClient === 1);
    expect(slow.relayed).to.be.lessThan(shard.pieces.find((p) => indexOf(p) === 1)!.contract.terms.shardSize);
    rmSync(out!);
    expect(leftovers()).to.deep.equal([]);
  });

  it('a piece altered mid-stream is rejected at its end and another piece used in its place', async () => {
    // Data piece 0's host flips one byte 200 KB into its answer (well past the frames).
    const { f, asked } = await fetcher(new Map([[0, { flipAt: 200_000 }]]));
    const out = await f.fetch(shard.hash, shard.pieces, dir);
    expect(out).to.not.equal(null);
    expect(readFileSync(out!).equals(shard.bytes)).to.equal(true);
    expect(f.last).to.deep.include({ failed: [0], used: [1, 2], decoded: true });
    expect(asked.sort()).to.deep.equal([0, 1, 2]);
    rmSync(out!);
    expect(leftovers()).to.deep.equal([]);
  });

  it('fewer than K pieces to be had (three hosts lie): null, and nothing left behind', async () => {
    const { f } = await fetcher(new Map([0, 1, 2].map((i) => [i, { flipAt: 100_000 }])));
    expect(await f.fetch(shard.hash, shard.pieces, dir)).to.equal(null);
    expect([...f.last.failed].sort()).to.deep.equal([0, 1, 2]);
    expect(leftovers()).to.deep.equal([]);
  });
});

/** Polls `ready` every 10 ms for up to 5 s (a relay notices a closed connection on its next turn). */
async function waitFor(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !ready(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(ready()).to.equal(true);
}
