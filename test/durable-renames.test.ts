import { expect } from 'chai';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DurableRenames, type PendingFile } from '../src/backup/durable-renames.js';
import { syncFileSystem } from '../src/util/sync-fs.js';
import { tempDir } from './helpers/peers.js';

/** A written temporary file for `name` in `dir`. */
function written(dir: string, name: string, bytes = 10): PendingFile {
  const tmp = path.join(dir, `${name}.tmp`);
  writeFileSync(tmp, Buffer.alloc(bytes, 1));
  return { tmp, target: path.join(dir, name), bytes };
}

describe('durable renames (restored files synced in batches, then named)', function () {
  this.timeout(10_000);

  it('syncs a batch when it is full by count or by bytes, and names its files only after', async () => {
    const dir = tempDir('dbs-durable-');
    const batches: string[][] = [];
    const durable = new DurableRenames({
      maxFiles: 3,
      maxBytes: 100,
      sync: async (files) => {
        // Nothing of this batch has its name yet.
        for (const f of files) expect(existsSync(f.target)).to.equal(false);
        batches.push(files.map((f) => path.basename(f.target)));
      },
    });
    await durable.add(written(dir, 'a'));
    await durable.add(written(dir, 'b'));
    expect(batches).to.deep.equal([]);
    await durable.add(written(dir, 'c'));
    expect(batches).to.deep.equal([['a', 'b', 'c']]);
    for (const name of ['a', 'b', 'c']) expect(existsSync(path.join(dir, name))).to.equal(true);
    await durable.add(written(dir, 'big', 150));
    expect(batches[1]).to.deep.equal(['big']);
    await durable.add(written(dir, 'd'));
    await durable.flush();
    expect(batches[2]).to.deep.equal(['d']);
    expect(readdirSync(dir).sort()).to.deep.equal(['a', 'b', 'big', 'c', 'd']);
  });

  it('a failed sync names nothing, removes its files, and refuses what comes after', async () => {
    const dir = tempDir('dbs-durable-');
    const durable = new DurableRenames({
      maxFiles: 2,
      maxBytes: 1e9,
      sync: async () => {
        throw new Error('disk gone');
      },
    });
    await durable.add(written(dir, 'a'));
    const failed = await durable.add(written(dir, 'b')).catch((err: unknown) => err);
    expect(String(failed)).to.contain('disk gone');
    expect(readdirSync(dir)).to.deep.equal([]);
    // Refused without being taken: the caller removes its own file, as a restore does.
    const after = await durable.add(written(dir, 'c')).catch((err: unknown) => err);
    expect(String(after)).to.contain('disk gone');
    await durable.discard();
    expect(readdirSync(dir)).to.deep.equal(['c.tmp']);
  });

  it('discard removes the files still waiting for a batch, and takes no more', async () => {
    const dir = tempDir('dbs-durable-');
    const durable = new DurableRenames({ maxFiles: 10, maxBytes: 1e9, sync: async () => {} });
    await durable.add(written(dir, 'a'));
    await durable.add(written(dir, 'b'));
    await durable.discard();
    expect(readdirSync(dir)).to.deep.equal([]);
    const late = await durable.add(written(dir, 'late')).catch((err: unknown) => err);
    expect(String(late)).to.contain('no longer taken');
  });

  it('a batch queued behind a failed one is removed, not synced', async () => {
    const dir = tempDir('dbs-durable-');
    let syncs = 0;
    let fail: () => void = () => {};
    const durable = new DurableRenames({
      maxFiles: 1,
      maxBytes: 1e9,
      sync: () => {
        syncs++;
        // The first sync fails only once the second batch is queued behind it.
        return new Promise<void>((_, reject) => (fail = () => reject(new Error('disk gone'))));
      },
    });
    const first = durable.add(written(dir, 'a')).catch((err: unknown) => err);
    const second = durable.add(written(dir, 'b')).catch((err: unknown) => err);
    await new Promise((resolve) => setImmediate(resolve));
    fail();
    expect(String(await first)).to.contain('disk gone');
    expect(String(await second)).to.contain('disk gone');
    expect(syncs).to.equal(1);
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('syncs a filesystem at once where sync -f exists (Linux), and says so', async () => {
    const ok = await syncFileSystem(tempDir('dbs-durable-'));
    expect(ok).to.equal(process.platform === 'linux');
  });
});
