import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { nodeFsReader } from '../src/snapshot/fs-reader.js';
import { buildTree } from '../src/snapshot/tree-builder.js';
import { diffTrees } from '../src/snapshot/tree-diff.js';
import { fileChunkIds, walkTree } from '../src/snapshot/tree-walker.js';
import { chunkingSaver, MemoryBlobStore } from './helpers/snapshot-fakes.js';
import { tempDir } from './helpers/temp.js';

/** The state of a real directory as text per path: type, permission bits, contents or target. */
async function stateOf(root: string, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await fs.readdir(path.join(root, rel))).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    const abs = path.join(root, p);
    const st = await fs.lstat(abs);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) out[p] = `symlink -> ${await fs.readlink(abs)}`;
    else if (st.isDirectory()) {
      out[p] = `dir ${mode}`;
      Object.assign(out, await stateOf(root, p));
    } else out[p] = `file ${mode} ${await fs.readFile(abs, 'utf8')}`;
  }
  return out;
}

/** A restore as the pipeline will do it: directory by directory from the walker, modes set on the way out. */
async function restore(store: MemoryBlobStore, root: Uint8Array, dest: string): Promise<void> {
  const open: { path: string; mode: number }[] = [];
  const leave = async (next: string | null) => {
    while (open.length && (next === null || !next.startsWith(`${open[open.length - 1]!.path}/`))) {
      const dir = open.pop()!;
      await fs.chmod(path.join(dest, dir.path), dir.mode & 0o7777);
    }
  };
  for await (const { path: p, node } of walkTree(root, store.loadTree)) {
    await leave(p);
    const abs = path.join(dest, p);
    if (node.type === 'dir') {
      await fs.mkdir(abs);
      open.push({ path: p, mode: node.mode });
    } else if (node.type === 'symlink') {
      await fs.symlink(node.target!, abs);
    } else {
      const handle = await fs.open(abs, 'w', node.mode & 0o7777);
      for await (const id of fileChunkIds(node, store.load)) await handle.write(await store.load(id));
      await handle.close();
      await fs.chmod(abs, node.mode & 0o7777);
    }
  }
  await leave(null);
}

describe('snapshot trees on a real directory (node:fs reader, walker, restore, diff)', function () {
  this.timeout(20_000);
  let work: string;
  let src: string;

  beforeEach(async () => {
    work = tempDir('dbs-snapshot-');
    src = path.join(work, 'src');
    await fs.mkdir(path.join(src, 'a'), { recursive: true });
    await fs.mkdir(path.join(src, 'b'));
    await fs.writeFile(path.join(src, 'a', 'one.txt'), 'one');
    await fs.writeFile(path.join(src, 'a', 'two.txt'), 'two');
    await fs.writeFile(path.join(src, 'b', 'three.txt'), 'three');
    await fs.writeFile(path.join(src, 'thing'), 'a file for now');
    await fs.writeFile(path.join(src, 'run.sh'), '#!/bin/sh', { mode: 0o755 });
    await fs.symlink('a/one.txt', path.join(src, 'link'));
    await fs.symlink('no/such/target', path.join(src, 'dangling'));
  });

  afterEach(async () => {
    await fs.rm(work, { recursive: true, force: true });
  });

  const backup = (store: MemoryBlobStore, parent?: Uint8Array) => {
    const saveFile = chunkingSaver(store, (p) => fs.readFile(p), 4096);
    return buildTree(src, { fs: nodeFsReader, saveFile, saveBlob: store.save, loadTree: store.loadTree }, parent ? { parent } : {}).then((r) => ({ ...r, opened: saveFile.opened }));
  };

  it('brings back a rename, a mode change, a deletion, a file replaced by a directory and a dangling symlink', async () => {
    const store = new MemoryBlobStore();
    const before = await stateOf(src);
    const first = await backup(store);

    await fs.rename(path.join(src, 'a', 'two.txt'), path.join(src, 'a', 'deux.txt'));
    await fs.chmod(path.join(src, 'run.sh'), 0o600);
    await fs.rm(path.join(src, 'b', 'three.txt'));
    await fs.rm(path.join(src, 'thing'));
    await fs.mkdir(path.join(src, 'thing'), { mode: 0o700 });
    await fs.writeFile(path.join(src, 'thing', 'inner.txt'), 'inside');
    const after = await stateOf(src);
    const second = await backup(store, first.root);
    // A renamed file has no entry of its name in the parent: read again (its data is the same
    // chunk, stored once). chmod changes ctime, so run.sh is read again too, as restic does.
    expect(second.opened.map((p) => path.relative(src, p)).sort()).to.deep.equal(['a/deux.txt', 'run.sh', 'thing/inner.txt']);

    for (const [label, root, expected] of [['first', first.root, before], ['second', second.root, after]] as const) {
      const dest = path.join(work, `restore-${label}`);
      await fs.mkdir(dest);
      await restore(store, root, dest);
      expect(await stateOf(dest), label).to.deep.equal(expected);
    }
    expect(after).to.include({ dangling: 'symlink -> no/such/target', 'run.sh': 'file 600 #!/bin/sh', 'thing/inner.txt': 'file 644 inside' });

    const changes: string[] = [];
    for await (const c of diffTrees(first.root, second.root, store.loadTree)) changes.push(`${c.kind} ${c.path}`);
    expect(changes).to.deep.equal([
      'changed a', // its listing changed, so its mtime did
      'added a/deux.txt',
      'removed a/two.txt',
      'changed b',
      'removed b/three.txt',
      'changed run.sh',
      'type-changed thing',
      'added thing/inner.txt',
    ]);
  });

  it('skips equal subtrees in a diff without loading them', async () => {
    const store = new MemoryBlobStore();
    const first = await backup(store);
    await fs.writeFile(path.join(src, 'a', 'one.txt'), 'uno!');
    const second = await backup(store, first.root);
    const loads = store.loads;
    const changes: string[] = [];
    for await (const c of diffTrees(first.root, second.root, store.loadTree)) changes.push(`${c.kind} ${c.path}`);
    expect(changes, 'an edit in place leaves its directory as it was').to.deep.equal(['changed a/one.txt']);
    expect(store.loads - loads, 'both roots and both a/ listings; b/ never').to.equal(4);
    const shallow: string[] = [];
    for await (const e of walkTree(second.root, store.loadTree, { descend: (d) => d.path !== 'a' })) shallow.push(e.path);
    expect(shallow).to.deep.equal(['a', 'b', 'b/three.txt', 'dangling', 'link', 'run.sh', 'thing']);
    const none: unknown[] = [];
    for await (const c of diffTrees(second.root, second.root, store.loadTree)) none.push(c);
    expect(none).to.deep.equal([]);
  });

  it('catches a same-size rewrite within the same mtime (utimes put back) by its ctime', async () => {
    const store = new MemoryBlobStore();
    const file = path.join(src, 'a', 'one.txt');
    const second0 = 1_700_000_000; // whole seconds: utimes sets exactly this mtime again
    await fs.utimes(file, second0, second0);
    const first = await backup(store);
    await fs.writeFile(file, 'ONE');
    await fs.utimes(file, second0, second0);
    expect((await fs.stat(file)).mtimeMs).to.equal(second0 * 1000);
    const second = await backup(store, first.root);
    expect(second.opened).to.deep.equal([file]);
    const dest = path.join(work, 'restore');
    await fs.mkdir(dest);
    await restore(store, second.root, dest);
    expect(await fs.readFile(path.join(dest, 'a', 'one.txt'), 'utf8')).to.equal('ONE');
    const third = await backup(store, second.root);
    expect(third.opened).to.deep.equal([]);
    expect(third.root).to.deep.equal(second.root);
  });
});
