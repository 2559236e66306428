import { expect } from 'chai';
import { existsSync, promises as fs, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeShard } from '../src/erasure/codec.js';
import { STRIPE_FRAGMENT_BYTES } from '../src/erasure/constants.js';
import { ErasureError } from '../src/erasure/errors.js';
import { ErasureWorker } from '../src/erasure/erasure-worker.js';
import type { ErasureScheme } from '../src/erasure/layout.js';
import { decodePieceFiles, encodePieceFiles, type PieceFile, type PieceSource, rebuildPieceFiles } from '../src/erasure/piece-files.js';
import { shardId, ShardHasher } from '../src/storage/merkle.js';
import { pseudoRandom, subsets } from './helpers/erasure.js';
import { tempDir } from './helpers/temp.js';

const F = STRIPE_FRAGMENT_BYTES;

async function expectRejection(promise: Promise<unknown>, code: string): Promise<ErasureError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(ErasureError);
    expect((err as ErasureError).code).to.equal(code);
    return err as ErasureError;
  }
  return expect.fail(`expected ErasureError ${code}`);
}

function sourcesOf(pieces: PieceFile[], indexes: number[]): PieceSource[] {
  return indexes.map((i) => ({ index: i, path: pieces[i]!.path, root: pieces[i]!.root }));
}

/** Names in `dir` that look like leftover temporary files. */
function temps(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.tmp'));
}

describe('erasure piece files (streaming, on disk)', function () {
  this.timeout(60_000);
  let dir: string;

  beforeEach(() => {
    dir = tempDir('dbs-erasure-');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function encodeFile(size: number, scheme: ErasureScheme, seed: number): Promise<{ shard: Buffer; shardPath: string; pieces: PieceFile[] }> {
    const shard = pseudoRandom(size, seed);
    const shardPath = path.join(dir, `shard-${seed}`);
    writeFileSync(shardPath, shard);
    const { pieces } = await encodePieceFiles(shardPath, scheme, (i) => path.join(dir, `shard-${seed}.p${i}`));
    return { shard, shardPath, pieces };
  }

  it('writes N piece files equal to the in-memory pieces, each with its own Merkle root and ID', async () => {
    let seed = 1;
    for (const scheme of [
      { k: 1, n: 3 },
      { k: 2, n: 4 },
      { k: 3, n: 3 },
      { k: 4, n: 6 },
    ]) {
      for (const size of [0, 1, 1000, scheme.k * F * 2 + 12_345]) {
        const { shard, pieces } = await encodeFile(size, scheme, seed++);
        const expected = await encodeShard(shard, scheme);
        expect(pieces.map((p) => p.index)).to.deep.equal([...expected.keys()]);
        for (const p of pieces) {
          const bytes = readFileSync(p.path);
          expect(bytes.equals(expected[p.index]!), `${scheme.k}/${scheme.n} size ${size} piece ${p.index}`).to.equal(true);
          const h = new ShardHasher();
          h.update(bytes);
          const digest = h.digest();
          expect(p.size).to.equal(bytes.length);
          expect(Buffer.from(p.root).equals(digest.root)).to.equal(true);
          expect(Buffer.from(p.id).equals(shardId(digest.root, bytes.length))).to.equal(true);
        }
      }
    }
    expect(temps(dir)).to.deep.equal([]);
  });

  it('restores the shard byte for byte from every K of N piece files', async () => {
    for (const [scheme, size] of [
      [{ k: 2, n: 4 }, 2 * F + 999],
      [{ k: 3, n: 6 }, 3 * F * 2 + 1],
      [{ k: 1, n: 3 }, 5000],
      [{ k: 2, n: 2 }, 17],
    ] as const) {
      const { shard, pieces } = await encodeFile(size, scheme, scheme.k * 10 + scheme.n);
      for (const subset of subsets(scheme.n, scheme.k)) {
        const out = path.join(dir, 'restored');
        const { used, rejected } = await decodePieceFiles(sourcesOf(pieces, subset), scheme, size, out);
        expect(used).to.deep.equal(subset);
        expect(rejected).to.deep.equal([]);
        expect(readFileSync(out).equals(shard), `${scheme.k}/${scheme.n} from ${subset.join(',')}`).to.equal(true);
        rmSync(out);
      }
    }
    expect(temps(dir)).to.deep.equal([]);
  });

  it('restores 10/16 from its six parity pieces and four data pieces, and the 0- and 1-byte shards', async () => {
    const scheme = { k: 10, n: 16 };
    const size = 10 * F + 77_777;
    const { shard, pieces } = await encodeFile(size, scheme, 1016);
    const out = path.join(dir, 'restored');
    await decodePieceFiles(sourcesOf(pieces, [15, 14, 13, 12, 11, 10, 9, 3, 2, 0]), scheme, size, out);
    expect(readFileSync(out).equals(shard)).to.equal(true);
    for (const tiny of [0, 1]) {
      const small = await encodeFile(tiny, { k: 2, n: 4 }, 500 + tiny);
      const tinyOut = path.join(dir, `tiny-${tiny}`);
      await decodePieceFiles(sourcesOf(small.pieces, [2, 3]), { k: 2, n: 4 }, tiny, tinyOut);
      expect(readFileSync(tinyOut).equals(small.shard)).to.equal(true);
    }
  });

  it('detects a corrupted piece by its Merkle root and uses another; the restored file holds none of its bytes', async () => {
    const scheme = { k: 2, n: 4 };
    const size = 2 * F + 4321;
    const { shard, pieces } = await encodeFile(size, scheme, 42);
    // Flip one byte of data piece 0 past the first stripe: the decode has written stripe 0 by then.
    const handle = await fs.open(pieces[0]!.path, 'r+');
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, F + 10);
    byte[0] ^= 0xff;
    await handle.write(byte, 0, 1, F + 10);
    await handle.close();
    const out = path.join(dir, 'restored');
    const { used, rejected } = await decodePieceFiles(sourcesOf(pieces, [0, 1, 2, 3]), scheme, size, out);
    expect(rejected).to.deep.equal([{ index: 0, reason: 'Merkle root mismatch' }]);
    expect(used).to.deep.equal([1, 2]);
    expect(readFileSync(out).equals(shard)).to.equal(true);
    expect(temps(dir)).to.deep.equal([]);
  });

  it('refuses with TOO_FEW_PIECES when fewer than K check out, naming why, and leaves no file', async () => {
    const scheme = { k: 3, n: 5 };
    const size = 9999;
    const { pieces } = await encodeFile(size, scheme, 7);
    await fs.truncate(pieces[1]!.path, 8); // truncated: refused by size before any read
    const wrongRoot = { ...sourcesOf(pieces, [4])[0]!, root: pieces[3]!.root }; // another piece's root
    const out = path.join(dir, 'restored');
    const err = await expectRejection(
      decodePieceFiles([...sourcesOf(pieces, [0, 1, 2]), wrongRoot, { index: 3, path: path.join(dir, 'missing'), root: pieces[3]!.root }], scheme, size, out),
      'TOO_FEW_PIECES',
    );
    expect(err.message).to.match(/piece 1: 8 bytes/).and.match(/piece 4: Merkle root mismatch/).and.match(/piece 3: cannot open: ENOENT/);
    expect(existsSync(out)).to.equal(false);
    expect(temps(dir)).to.deep.equal([]);
    await expectRejection(decodePieceFiles(sourcesOf(pieces, [0, 2]), scheme, size, out), 'TOO_FEW_PIECES');
    await expectRejection(decodePieceFiles(sourcesOf(pieces, [0, 2, 4]), { k: 3, n: 10 }, size, out), 'BAD_PARAMETERS');
  });

  it('rebuilds lost pieces from any K, identical to the originals (repair)', async () => {
    const scheme = { k: 3, n: 6 };
    const size = 3 * F + 55_555;
    const { pieces } = await encodeFile(size, scheme, 36);
    const originals = pieces.map((p) => readFileSync(p.path));
    for (const lost of [[0, 4, 5], [1], [3, 4, 5]]) {
      for (const i of lost) rmSync(pieces[i]!.path);
      const alive = [0, 1, 2, 3, 4, 5].filter((i) => !lost.includes(i));
      const { pieces: rebuilt, used } = await rebuildPieceFiles(sourcesOf(pieces, alive), scheme, size, lost, (i) => pieces[i]!.path);
      expect(used).to.have.length(3);
      for (const r of rebuilt) {
        expect(readFileSync(r.path).equals(originals[r.index]!)).to.equal(true);
        expect(Buffer.from(r.root).equals(pieces[r.index]!.root)).to.equal(true);
      }
    }
    expect(temps(dir)).to.deep.equal([]);
  });

  it('runs encode, decode and rebuild on a worker thread, errors typed as thrown', async () => {
    const worker = new ErasureWorker();
    try {
      const scheme = { k: 2, n: 4 };
      const size = 2 * F + 3;
      const shard = pseudoRandom(size, 99);
      const shardPath = path.join(dir, 'w');
      writeFileSync(shardPath, shard);
      const paths = [0, 1, 2, 3].map((i) => path.join(dir, `w.p${i}`));
      const { layout, pieces } = await worker.encode(shardPath, scheme, paths);
      expect(layout.pieceSize).to.equal(F + 8);
      expect(Buffer.from(pieces[2]!.root).equals((await encodePieceFiles(shardPath, scheme, (i) => path.join(dir, `x.p${i}`))).pieces[2]!.root)).to.equal(true);
      const out = path.join(dir, 'w.out');
      const decoded = await worker.decode(sourcesOf(pieces, [3, 2]), scheme, size, out);
      expect(decoded.used).to.deep.equal([2, 3]);
      expect(readFileSync(out).equals(shard)).to.equal(true);
      rmSync(paths[0]!);
      const rebuilt = await worker.rebuild(sourcesOf(pieces, [1, 3]), scheme, size, [0], paths);
      expect(Buffer.from(rebuilt.pieces[0]!.root).equals(pieces[0]!.root)).to.equal(true);
      const err = await expectRejection(worker.decode(sourcesOf(pieces, [1]), scheme, size, out), 'TOO_FEW_PIECES');
      expect(err.message).to.match(/1 usable pieces, 2 needed/);
      const missing = await worker.encode(path.join(dir, 'nothing'), scheme, paths).catch((e: NodeJS.ErrnoException) => e);
      expect((missing as NodeJS.ErrnoException).code).to.equal('ENOENT');
    } finally {
      await worker.close();
    }
  });
});

describe('erasure piece files written without fsync (durable: false, for temporary outputs)', function () {
  this.timeout(60_000);

  it('gives the same pieces and the same shard back, complete and under their names', async () => {
    const dir = tempDir('dbs-erasure-nosync-');
    try {
      const shard = pseudoRandom(3 * F + 12_345, 11);
      writeFileSync(path.join(dir, 'shard'), shard);
      const durable = await encodePieceFiles(path.join(dir, 'shard'), { k: 2, n: 4 }, (i) => path.join(dir, `d${i}`));
      const quick = await encodePieceFiles(path.join(dir, 'shard'), { k: 2, n: 4 }, (i) => path.join(dir, `q${i}`), { durable: false });
      expect(quick.pieces.map((p) => Buffer.from(p.root).toString('hex'))).to.deep.equal(durable.pieces.map((p) => Buffer.from(p.root).toString('hex')));
      await decodePieceFiles(sourcesOf(quick.pieces, [2, 3]), { k: 2, n: 4 }, shard.length, path.join(dir, 'back'), { durable: false });
      expect(readFileSync(path.join(dir, 'back')).equals(shard)).to.equal(true);
      expect(temps(dir)).to.deep.equal([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
