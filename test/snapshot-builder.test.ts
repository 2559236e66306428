import { expect } from 'chai';
import { buildTree, type TreeBuilderOptions } from '../src/snapshot/tree-builder.js';
import { fileChunkIds, walkTree } from '../src/snapshot/tree-walker.js';
import { chunkingSaver, FakeFs, MemoryBlobStore } from './helpers/snapshot-fakes.js';

/** Everything a snapshot holds, as text per path: type, mode, and contents or target. */
async function listing(store: MemoryBlobStore, root: Uint8Array): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const { path, node } of walkTree(root, store.loadTree)) {
    let what = '';
    if (node.type === 'file') {
      const parts: Uint8Array[] = [];
      for await (const id of fileChunkIds(node, store.load)) parts.push(await store.load(id));
      what = Buffer.concat(parts).toString();
    } else if (node.type === 'symlink') what = `-> ${node.target}`;
    out[path] = `${node.type} ${(node.mode & 0o7777).toString(8)} ${what}`.trimEnd();
  }
  return out;
}

function sampleFs(): FakeFs {
  const fs = new FakeFs();
  fs.mkdir('/src/a');
  fs.writeFile('/src/a/one.txt', 'one');
  fs.writeFile('/src/a/two.txt', 'two two');
  fs.mkdir('/src/b');
  fs.writeFile('/src/b/three.txt', 'three');
  fs.mkdir('/src/b/deep');
  fs.writeFile('/src/b/deep/four.txt', 'four');
  fs.symlink('/src/link', 'a/one.txt');
  fs.tick();
  return fs;
}

function backup(fs: FakeFs, store: MemoryBlobStore, options: TreeBuilderOptions = {}) {
  const saveFile = chunkingSaver(store, (p) => fs.readFile(p));
  return buildTree('/src', { fs, saveFile, saveBlob: store.save, loadTree: store.loadTree }, options).then((r) => ({ ...r, opened: saveFile.opened }));
}

describe('snapshot tree builder (fake file system)', function () {
  this.timeout(10_000);

  it('stores an unchanged directory once: a second snapshot adds only the trees on the changed path', async () => {
    const fs = sampleFs();
    const store = new MemoryBlobStore();
    const first = await backup(fs, store);
    expect(first.stats).to.include({ dirs: 4, treesStored: 4, treesReused: 0, filesRead: 4, symlinks: 1 });
    expect(store.stored.tree).to.equal(4);

    fs.writeFile('/src/a/two.txt', 'TWO TWO');
    fs.tick();
    const second = await backup(fs, store, { parent: first.root });
    expect(second.stats).to.include({ treesStored: 2, treesReused: 2, filesRead: 1, filesReused: 3 });
    expect(store.stored.tree, 'root and a/ are new; b/ and b/deep/ are the same blobs').to.equal(6);
    expect(second.opened).to.deep.equal(['/src/a/two.txt']);

    const unchanged = await backup(fs, store, { parent: second.root });
    expect(unchanged.root).to.deep.equal(second.root);
    expect(unchanged.stats).to.include({ treesStored: 0, treesReused: 4, filesRead: 0 });
    expect(store.stored.tree).to.equal(6);
    expect(await listing(store, first.root)).to.include({ 'a/two.txt': 'file 644 two two' });
    expect(await listing(store, second.root)).to.include({ 'a/two.txt': 'file 644 TWO TWO', link: 'symlink 777 -> a/one.txt', 'b/deep/four.txt': 'file 644 four' });
  });

  it('never opens an unchanged file: an unreadable one backs up from the parent, and fails without it', async () => {
    const fs = sampleFs();
    const store = new MemoryBlobStore();
    const first = await backup(fs, store);
    fs.makeUnreadable('/src/b/three.txt');
    const before = fs.calls.readFile;
    const second = await backup(fs, store, { parent: first.root });
    expect(fs.calls.readFile - before).to.equal(0);
    expect(second.opened).to.deep.equal([]);
    expect(second.stats).to.include({ filesReused: 4, filesRead: 0, bytesRead: 0 });
    expect(await listing(store, second.root)).to.include({ 'b/three.txt': 'file 644 three' });
    // Without a parent (or with force) the same file must be read, and reading it fails.
    let error: unknown;
    await backup(fs, store).catch((e) => (error = e));
    expect((error as NodeJS.ErrnoException).code).to.equal('EACCES');
    error = undefined;
    await backup(fs, store, { parent: first.root, force: true }).catch((e) => (error = e));
    expect((error as NodeJS.ErrnoException).code).to.equal('EACCES');
  });

  it('catches a same-size rewrite with the old mtime by its ctime, and a file renamed over another by its inode', async () => {
    const fs = sampleFs();
    const store = new MemoryBlobStore();
    const first = await backup(fs, store);
    const oldStat = await fs.lstat('/src/a/one.txt');
    fs.writeFile('/src/a/one.txt', 'ONE'); // same size...
    fs.setMtime('/src/a/one.txt', oldStat.mtimeMs); // ...and mtime set back: only ctime differs
    const byCtime = await backup(fs, store, { parent: first.root });
    expect(byCtime.opened).to.deep.equal(['/src/a/one.txt']);
    expect(await listing(store, byCtime.root)).to.include({ 'a/one.txt': 'file 644 ONE' });

    const three = await fs.lstat('/src/b/three.txt');
    fs.replaceWith('/src/b/three.txt', 'THREE', { mtimeMs: three.mtimeMs, ctimeMs: three.ctimeMs }); // only the inode differs
    const byInode = await backup(fs, store, { parent: byCtime.root });
    expect(byInode.opened).to.deep.equal(['/src/b/three.txt']);
    expect(await listing(store, byInode.root)).to.include({ 'b/three.txt': 'file 644 THREE', 'a/one.txt': 'file 644 ONE' });
  });

  it('force reads every file and lists every directory, loading no parent tree', async () => {
    const fs = sampleFs();
    const store = new MemoryBlobStore();
    const first = await backup(fs, store);
    const loads = store.loads;
    const forced = await backup(fs, store, { parent: first.root, force: true, changedPaths: [] });
    expect(forced.opened).to.have.length(4);
    expect(forced.stats).to.include({ filesRead: 4, filesReused: 0, dirsSkipped: 0, treesStored: 0, treesReused: 4 });
    expect(store.loads).to.equal(loads);
    expect(forced.root).to.deep.equal(first.root);
  });

  it('with changedPaths, lists only the directories on a changed path and keeps the same root as a full walk', async () => {
    const fs = sampleFs();
    const store = new MemoryBlobStore();
    const first = await backup(fs, store);
    fs.writeFile('/src/a/one.txt', 'uno');
    fs.tick();
    fs.readdirPaths.length = 0;
    const watched = await backup(fs, store, { parent: first.root, changedPaths: ['a/one.txt'] });
    expect(fs.readdirPaths).to.deep.equal(['/src', '/src/a']);
    expect(watched.stats).to.include({ dirsSkipped: 1, filesRead: 1 });
    const full = await backup(fs, store, { parent: first.root });
    expect(watched.root).to.deep.equal(full.root);

    // A missed event for a new entry in b/ still shows in b/'s own mtime: b/ is listed anyway
    // (b/deep/, unchanged, is not).
    fs.writeFile('/src/b/five.txt', 'five');
    fs.tick();
    fs.readdirPaths.length = 0;
    const missed = await backup(fs, store, { parent: watched.root, changedPaths: ['a/one.txt'] });
    expect(fs.readdirPaths).to.deep.equal(['/src', '/src/a', '/src/b']);
    expect(await listing(store, missed.root)).to.include({ 'b/five.txt': 'file 644 five' });

    // A missed in-place edit deeper down changes no directory: only the periodic full walk sees it.
    fs.writeFile('/src/b/deep/four.txt', 'FOUR');
    fs.tick();
    const stale = await backup(fs, store, { parent: missed.root, changedPaths: ['a/one.txt'] });
    expect(await listing(store, stale.root)).to.include({ 'b/deep/four.txt': 'file 644 four' });
    const walked = await backup(fs, store, { parent: stale.root });
    expect(await listing(store, walked.root)).to.include({ 'b/deep/four.txt': 'file 644 FOUR' });
  });

  it('puts a file with many chunks into chunk-list blobs and reads them back in order', async () => {
    const fs = sampleFs();
    fs.writeFile('/src/big.bin', 'abcdefghijklmnopqrstuvwxyz0123456789ABCD'); // 40 bytes: 10 chunks of 4
    const store = new MemoryBlobStore();
    const result = await backup(fs, store, { inlineChunkIds: 2, chunkListIds: 3 });
    expect(store.stored.chunks).to.equal(4);
    const nodes = await store.loadTree(result.root);
    const big = nodes.find((n) => n.name === 'big.bin')!;
    expect(big.chunks).to.equal(undefined);
    expect(big.chunkLists).to.have.length(4);
    expect(await listing(store, result.root)).to.include({ 'big.bin': 'file 644 abcdefghijklmnopqrstuvwxyz0123456789ABCD' });
    // The files cache keeps the chunk lists as they are.
    const again = await backup(fs, store, { parent: result.root, inlineChunkIds: 2, chunkListIds: 3 });
    expect(again.root).to.deep.equal(result.root);
    expect(again.opened).to.deep.equal([]);
  });

  it('leaves out an entry deleted between listing and reading it, and counts it; other errors fail', async () => {
    const fs = sampleFs();
    const store = new MemoryBlobStore();
    const lstat = fs.lstat.bind(fs);
    fs.lstat = async (p) => {
      if (p === '/src/a/two.txt' || p === '/src/b/deep') fs.rm(p); // gone after readdir listed it
      return lstat(p);
    };
    const result = await backup(fs, store);
    expect(result.stats.vanished).to.equal(2);
    expect(Object.keys(await listing(store, result.root))).to.deep.equal(['a', 'a/one.txt', 'b', 'b/three.txt', 'link']);
    fs.lstat = async () => {
      throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    };
    let error: unknown;
    await backup(fs, store).catch((e) => (error = e));
    expect((error as NodeJS.ErrnoException).code).to.equal('EIO');
  });

  it('saves a few files of a directory at once, in the same order, and fails with the first error', async () => {
    const fs = sampleFs();
    for (let i = 0; i < 20; i++) fs.writeFile(`/src/a/n${String(i).padStart(2, '0')}`, `file ${i}`);
    const store = new MemoryBlobStore();
    const plain = chunkingSaver(store, (p) => fs.readFile(p));
    let inFlight = 0;
    let most = 0;
    const slow = async (p: string, st: Parameters<typeof plain>[1]) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 20 - (p.length % 7))); // finish out of order
      inFlight--;
      if (p.endsWith('n13')) throw new Error('disk on fire');
      return plain(p, st);
    };
    const ports = { fs, saveBlob: store.save, loadTree: store.loadTree };
    let error: unknown;
    await buildTree('/src', { ...ports, saveFile: slow }, { fileConcurrency: 3 }).catch((e) => (error = e));
    expect((error as Error).message).to.equal('disk on fire');
    expect(most).to.equal(3);
    const okay = async (p: string, st: Parameters<typeof plain>[1]) => (p.endsWith('n13') ? plain(p, st) : slow(p, st));
    const concurrent = await buildTree('/src', { ...ports, saveFile: okay }, { fileConcurrency: 3 });
    const serial = await buildTree('/src', { ...ports, saveFile: plain }, { fileConcurrency: 1 });
    expect(concurrent.root).to.deep.equal(serial.root);
    expect(concurrent.stats.filesRead).to.equal(24);
  });

  it('backs a directory up as new when its parent tree cannot be loaded, and counts it', async () => {
    const fs = sampleFs();
    const store = new MemoryBlobStore();
    const first = await backup(fs, store);
    const b = (await store.loadTree(first.root)).find((n) => n.name === 'b')!;
    store.blobs.delete(Buffer.from(b.subtree!).toString('hex')); // a lost parent tree
    const second = await backup(fs, store, { parent: first.root });
    expect(second.stats.parentTreeErrors).to.equal(1);
    expect(second.opened.sort()).to.deep.equal(['/src/b/deep/four.txt', '/src/b/three.txt']);
    expect(await listing(store, second.root)).to.include({ 'b/three.txt': 'file 644 three', 'b/deep/four.txt': 'file 644 four' });
  });

  it('backs up a single file as a one-entry root listing under its own name', async () => {
    const fs = sampleFs();
    const store = new MemoryBlobStore();
    const saveFile = chunkingSaver(store, (p) => fs.readFile(p));
    const first = await buildTree('/src/a/two.txt', { fs, saveFile, saveBlob: store.save, loadTree: store.loadTree });
    expect(await listing(store, first.root)).to.deep.equal({ 'two.txt': 'file 644 two two' });
    const second = await buildTree('/src/a/two.txt', { fs, saveFile, saveBlob: store.save, loadTree: store.loadTree }, { parent: first.root });
    expect(second.stats.filesReused).to.equal(1);
    expect(saveFile.opened).to.have.length(1);
  });
});
