/**
 * The piece race of src/backup/piece-fetch.ts with downloads the test controls (real piece
 * files, the real erasure worker; no network here: test/backup-erasure.test.ts has real hosts):
 * a stalled host gets a reserve beside it and is dropped once K pieces arrived; a corrupted
 * piece is caught by the decode and another used; fewer than K is null.
 */
import { expect } from 'chai';
import { copyFileSync, existsSync, promises as fs, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { StoredContract } from '../src/contracts/store.js';
import { ErasureWorker } from '../src/erasure/erasure-worker.js';
import { encodePieceFiles, type PieceFile } from '../src/erasure/piece-files.js';
import { PieceFetcher } from '../src/backup/piece-fetch.js';
import { releaseHashWorker } from '../src/storage/parallel-hasher.js';
import { ShardHasher } from '../src/storage/merkle.js';
import { toHex } from '../src/util/bytes.js';
import type { Address } from '../src/net/address.js';
import type { ShardTarget } from '../src/transfer/client.js';
import { pseudoRandom } from './helpers/erasure.js';
import { tempDir } from './helpers/temp.js';

const SCHEME = { k: 2, n: 4 };

function contractFor(piece: PieceFile, shard: Uint8Array, shardSize: number): StoredContract {
  const host = new Uint8Array(32).fill(piece.index + 1);
  return {
    contract: {
      id: new Uint8Array(32).fill(100 + piece.index),
      terms: { shardHash: piece.id, shardSize: piece.size, merkleRoot: piece.root, host, piece: { shard, shardSize, index: piece.index, k: SCHEME.k, n: SCHEME.n } },
    },
    role: 'owner',
    counterpart: host,
    counterpartAddress: `127.0.0.1:${7000 + piece.index}`,
    state: 'active',
    reservedUntil: null,
    updatedAt: 0,
  } as unknown as StoredContract;
}

describe('piece fetch race (controlled downloads, real pieces and worker)', function () {
  this.timeout(60_000);
  let dir: string;
  let shard: Buffer;
  let shardHash: Uint8Array;
  let pieces: PieceFile[];
  let contracts: StoredContract[];
  const worker = new ErasureWorker();

  before(async () => {
    dir = tempDir('dbs-piece-fetch-');
    shard = Buffer.from(pseudoRandom(700_001, 7));
    const shardPath = path.join(dir, 'shard');
    writeFileSync(shardPath, shard);
    const h = new ShardHasher();
    h.update(shard);
    shardHash = h.digest().hash;
    await fs.mkdir(path.join(dir, 'hosts'));
    ({ pieces } = await encodePieceFiles(shardPath, SCHEME, (i) => path.join(dir, 'hosts', `p${i}`)));
    contracts = pieces.map((p) => contractFor(p, shardHash, shard.length));
  });

  after(async () => {
    await worker.close();
    releaseHashWorker();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fetcher whose downloads copy the "host's" piece file, except as `behave` says. */
  function fetcher(behave: (index: number) => 'ok' | 'fail' | Promise<void>, slowAfterMs = 60_000): { f: PieceFetcher; asked: number[] } {
    const asked: number[] = [];
    const f = new PieceFetcher({
      addressesOf: async function* (c: StoredContract): AsyncGenerator<Address> {
        yield { host: '127.0.0.1', port: 7000 + c.contract.terms.piece!.index } as Address;
      },
      download: async (_a: Address, target: ShardTarget, into: string) => {
        const index = pieces.findIndex((p) => toHex(p.id) === toHex(target.terms.shardHash));
        asked.push(index);
        const how = behave(index);
        if (how === 'fail') throw new Error('host refused');
        if (how !== 'ok') await how;
        const file = path.join(into, `got-${index}`);
        copyFileSync(pieces[index]!.path, file);
        return file;
      },
      worker,
      slowAfterMs,
    });
    return { f, asked };
  }

  it('asks K + 1 at once, data pieces first, and joins the data pieces', async () => {
    const { f, asked } = fetcher(() => 'ok');
    const out = await f.fetch(shardHash, contracts, dir);
    expect(out).to.not.equal(null);
    expect(readFileSync(out!).equals(shard)).to.equal(true);
    expect(asked.slice(0, 3).sort()).to.deep.equal([0, 1, 2]);
    expect([...f.last.used].sort()).to.deep.equal([0, 1]);
    rmSync(out!);
  });

  it('starts a reserve beside a stalled host and drops it once K arrived', async () => {
    let release!: () => void;
    const stalled = new Promise<void>((r) => (release = r));
    // The hosts of data pieces 0 and 1 never answer while the race runs (nothing fails, so
    // only the slow timer can start piece 3 beside them).
    const { f, asked } = fetcher((i) => (i < 2 ? stalled : 'ok'), 0);
    const out = await f.fetch(shardHash, contracts, dir);
    release();
    expect(out).to.not.equal(null);
    expect(readFileSync(out!).equals(shard)).to.equal(true);
    expect([...f.last.used].sort()).to.deep.equal([2, 3]);
    expect(asked).to.include(3);
    rmSync(out!);
    // The piece work directory is gone, stalled download and all.
    expect(readdirSync(dir).filter((n) => n.startsWith('pieces-'))).to.deep.equal([]);
  });

  it('fewer than K pieces to be had: null, and nothing left behind', async () => {
    const { f } = fetcher((i) => (i < 3 ? 'fail' : 'ok'));
    expect(await f.fetch(shardHash, contracts, dir)).to.equal(null);
    expect([...f.last.failed].sort()).to.deep.equal([0, 1, 2]);
    expect(readdirSync(dir).filter((n) => n.endsWith('.part') || n.startsWith('pieces-'))).to.deep.equal([]);
  });

  it('a piece that does not match its root fails the decode (never a wrong shard)', async () => {
    const bad = path.join(dir, 'bad-piece');
    const bytes = readFileSync(pieces[0]!.path);
    bytes[10] ^= 1;
    writeFileSync(bad, bytes);
    const f = new PieceFetcher({
      addressesOf: async function* (): AsyncGenerator<Address> {
        yield { host: '127.0.0.1', port: 1 } as Address;
      },
      // A download that skips verification (as a buggy transfer would): the decode must catch it.
      download: async (_a, target, into) => {
        const index = pieces.findIndex((p) => toHex(p.id) === toHex(target.terms.shardHash));
        const file = path.join(into, `got-${index}`);
        copyFileSync(index === 0 ? bad : pieces[index]!.path, file);
        return file;
      },
      worker,
    });
    // Only pieces 0 and 1 offered: the corrupted 0 cannot be replaced, so no shard.
    await f.fetch(shardHash, contracts.slice(0, 2), dir).then(
      () => expect.fail('a corrupted piece must not decode'),
      (err: Error) => expect(err.message).to.match(/piece|root|match/i),
    );
    expect(existsSync(bad)).to.equal(true);
  });
});
