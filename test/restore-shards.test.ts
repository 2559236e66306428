import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RestoreShards } from '../src/backup/restore-shards.js';
import { toHex } from '../src/util/bytes.js';
import { releaseAligned, takeAligned, windowBound } from '../src/util/direct-io.js';
import { tempDir } from './helpers/temp.js';

describe('restore shards (each shard located once, a few at a time, read chunk by chunk)', function () {
  this.timeout(10_000);
  const dir = tempDir('dbs-restore-shards-');
  after(() => rmSync(dir, { recursive: true, force: true }));

  const hash = (n: number) => new Uint8Array(32).fill(n);

  /** A locator that writes the shard's file on demand and records what it was asked, and how many ran at once. */
  function locator(contents: Map<string, Buffer>, failing = new Set<string>()) {
    const asked: string[] = [];
    const gates: (() => void)[] = [];
    let running = 0;
    let most = 0;
    const locate = async (h: Uint8Array) => {
      const key = toHex(h);
      asked.push(key);
      running++;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => gates.push(resolve));
      running--;
      if (failing.has(key)) throw new Error('no replica answered');
      const data = contents.get(key);
      if (!data) return null;
      const file = path.join(dir, key);
      writeFileSync(file, data);
      return file;
    };
    return { locate, asked, release: () => gates.splice(0).forEach((g) => g()), most: () => most };
  }

  it('locates each shard once, in prefetch order, at most `downloads` at a time', async () => {
    const contents = new Map([1, 2, 3, 4, 5].map((n) => [toHex(hash(n)), randomBytes(100)] as const));
    const l = locator(contents);
    const shards = new RestoreShards(l.locate, { downloads: 2 });
    shards.prefetch([hash(1), hash(2), hash(3), hash(4), hash(5)]);
    const again = shards.file(hash(2));
    // Let the queue start what it may; release until all are done.
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setImmediate(r));
      l.release();
    }
    expect(await again).to.equal(path.join(dir, toHex(hash(2))));
    expect(await shards.file(hash(5))).to.equal(path.join(dir, toHex(hash(5))));
    expect(l.asked).to.deep.equal([1, 2, 3, 4, 5].map((n) => toHex(hash(n))));
    expect(l.most()).to.equal(2);
    await shards.close();
  });

  it('answers null for a shard nobody can supply, and for one whose locator failed', async () => {
    const l = locator(new Map(), new Set([toHex(hash(9))]));
    const shards = new RestoreShards(l.locate);
    const missing = shards.file(hash(8));
    const failed = shards.file(hash(9));
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      l.release();
    }
    expect(await missing).to.equal(null);
    expect(await failed).to.equal(null);
    await shards.close();
  });

  it('reads exact ranges through an aligned scratch buffer, and refuses a range past the end', async () => {
    const data = randomBytes(3 * 4096 + 123);
    const file = path.join(dir, 'range');
    writeFileSync(file, data);
    const shards = new RestoreShards(async () => file, { maxOpen: 1 });
    const scratch = takeAligned(windowBound(5000));
    try {
      for (const [offset, length] of [[0, 10], [4090, 5000], [data.length - 7, 7]] as const) {
        const got = await shards.read(file, offset, length, scratch);
        expect(Buffer.from(got).equals(data.subarray(offset, offset + length))).to.equal(true);
      }
      // Another file past maxOpen closes the idle one; reading it again reopens it.
      const other = path.join(dir, 'other');
      writeFileSync(other, data);
      expect((await shards.read(other, 1, 3, scratch)).length).to.equal(3);
      expect((await shards.read(file, 1, 3, scratch)).length).to.equal(3);
      let refused: unknown;
      await shards.read(file, data.length - 2, 10, scratch).catch((err: unknown) => (refused = err));
      expect(String(refused)).to.match(/shorter than its index says/);
    } finally {
      releaseAligned(scratch);
      await shards.close();
    }
  });
});
