import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CACHEDIR_SIGNATURE, createExclude, ExcludeError, otherFileSystem, parseTagSpec, PatternMatcher } from '../src/backup/exclude.js';
import { filterForRestore } from '../src/backup/restore-filter.js';
import { scanTree } from '../src/backup/tree.js';
import { buildTree } from '../src/snapshot/tree-builder.js';
import { walkTree } from '../src/snapshot/tree-walker.js';
import { chunkingSaver, FakeFs, MemoryBlobStore } from './helpers/snapshot-fakes.js';
import { tempDir } from './helpers/temp.js';

function tree(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    if (rel.endsWith('/')) mkdirSync(abs, { recursive: true });
    else {
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(abs, content);
    }
  }
}

async function scanned(source: string, options: Parameters<typeof createExclude>[1]): Promise<string[]> {
  const out: string[] = [];
  for await (const { entry } of scanTree(source, await createExclude(source, options))) out.push(entry.path);
  return out;
}

describe('backup excludes: gitignore patterns', function () {
  this.timeout(5000);

  it('matches as gitignore does: anywhere, anchored, directories only, negation, **', () => {
    const m = new PatternMatcher(['*.o', '!keep.o', '/build', 'cache/', '**/logs/*.log', '# a comment', '']);
    const cases: [string, boolean, boolean][] = [
      ['a.o', false, true], ['deep/er/b.o', false, true], ['keep.o', false, false],
      ['build', true, true], ['sub/build', true, false],
      ['cache', true, true], ['x/cache', true, true], ['cache', false, false],
      ['x/logs/a.log', false, true], ['logs/a.log', false, true], ['x/logs/a.txt', false, false],
      ['# a comment', false, false], ['', true, false],
    ];
    for (const [p, isDir, want] of cases) expect(m.matches(p, isDir), `${p}${isDir ? '/' : ''}`).to.equal(want);
    expect(new PatternMatcher(['# only comments', '']).empty).to.equal(true);
  });

  it('parses --exclude-if-present specs; CACHEDIR.TAG implies its signature', () => {
    expect(parseTagSpec('CACHEDIR.TAG')).to.deep.equal({ name: 'CACHEDIR.TAG', header: CACHEDIR_SIGNATURE });
    expect(parseTagSpec('.nobackup')).to.deep.equal({ name: '.nobackup', header: '' });
    expect(parseTagSpec('TAG:hello: world')).to.deep.equal({ name: 'TAG', header: 'hello: world' });
    for (const bad of ['', ':x', 'a/b']) expect(() => parseTagSpec(bad), bad).to.throw(ExcludeError).with.property('code', 'BAD_EXCLUDE');
  });

  it('--one-file-system: another device is left out except a mount point, which stays empty (pure rule)', () => {
    expect(otherFileSystem(1, { type: 'file', dev: 1 }, 1)).to.equal(false);
    expect(otherFileSystem(1, { type: 'file', dev: 2 }, 1)).to.equal(true);
    expect(otherFileSystem(1, { type: 'dir', dev: 2 }, 1), 'mount point').to.equal(false);
    expect(otherFileSystem(1, { type: 'dir', dev: 2 }, 2), 'a directory inside the other file system').to.equal(true);
  });

  it('scanTree leaves out patterns, pattern files and tagged caches (only their tag is kept); nothing is excluded by default', async () => {
    const dir = tempDir();
    try {
      const src = path.join(dir, 'src');
      tree(src, {
        'a.txt': 'a', 'b.o': 'b', 'keep.o': 'k', 'build/x': 'x', 'sub/build/y': 'y', 'notes.tmp': 't',
        'deps/cache/z': 'z', 'cache': 'a file named cache',
        '.cache/CACHEDIR.TAG': `${CACHEDIR_SIGNATURE}\n# made by a tool`, '.cache/blob': 'big',
        'fake/CACHEDIR.TAG': 'no signature here', 'fake/data': 'kept',
        'marked/.nobackup': '', 'marked/f': 'gone', 'marked/inner/g': 'gone',
        'empty/': '',
      });
      writeFileSync(path.join(dir, 'excludes'), '# temporary files\n*.tmp\n\n/build\n');
      expect(await scanned(src, {})).to.include.members(['b.o', 'marked/f', '.cache/blob']);
      expect(await createExclude(src, { patterns: ['# nothing'] })).to.equal(null);
      const kept = await scanned(src, { patterns: ['*.o', '!keep.o', 'cache/'], patternFiles: [path.join(dir, 'excludes')], ifPresent: ['CACHEDIR.TAG', '.nobackup'] });
      expect(kept).to.deep.equal([
        '', '.cache', '.cache/CACHEDIR.TAG', 'a.txt', 'cache', 'deps', 'empty', 'fake', 'fake/CACHEDIR.TAG', 'fake/data',
        'keep.o', 'marked', 'marked/.nobackup', 'sub', 'sub/build', 'sub/build/y',
      ]);
      await createExclude(src, { patternFiles: [path.join(dir, 'missing')] }).then(
        () => expect.fail('a missing exclude file must fail the backup'),
        (err: ExcludeError) => expect(err.code).to.equal('EXCLUDE_FILE_UNREADABLE'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the progress bar\'s byte count leaves out the same entries as the backup', async () => {
    const { treeBytes } = await import('../src/cli/tree-bytes.js');
    const dir = tempDir();
    try {
      tree(dir, { 'a.txt': 'aaaa', 'node_modules/x.js': 'x'.repeat(100), 'c/CACHEDIR.TAG': CACHEDIR_SIGNATURE, 'c/big': 'b'.repeat(1000) });
      expect(await treeBytes(dir)).to.equal(4 + 100 + CACHEDIR_SIGNATURE.length + 1000);
      expect(await treeBytes(dir, await createExclude(dir, { patterns: ['node_modules/'], ifPresent: ['CACHEDIR.TAG'] }))).to.equal(4 + CACHEDIR_SIGNATURE.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--one-file-system on a real tmpfs mounted under the source (own mount namespace; needs root)', function () {
    if (process.getuid?.() !== 0) this.skip();
    const dir = tempDir();
    try {
      const src = path.join(dir, 'src');
      tree(src, { 'a.txt': 'a', 'mnt/': '', 'z.txt': 'z' });
      const child = fileURLToPath(new URL('./helpers/scan-child.js', import.meta.url));
      const run = (options: object) => JSON.parse(execFileSync('unshare', ['-m', 'sh', '-c',
        `mount -t tmpfs none "$1/mnt" && mkdir "$1/mnt/d" && echo x > "$1/mnt/d/f" && echo y > "$1/mnt/top" && exec "$2" "$3" "$1" "$4"`,
        'sh', src, process.execPath, child, JSON.stringify(options)], { timeout: 10_000 }).toString()) as string[];
      expect(run({})).to.deep.equal(['', 'a.txt', 'mnt', 'mnt/d', 'mnt/d/f', 'mnt/top', 'z.txt']);
      expect(run({ oneFileSystem: true })).to.deep.equal(['', 'a.txt', 'mnt', 'z.txt']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the tree builder takes the same predicate: excluded entries are not read and are counted', async () => {
    const fs = new FakeFs();
    fs.mkdir('/src/keep');
    fs.writeFile('/src/keep/a.txt', 'a');
    fs.mkdir('/src/node_modules');
    fs.writeFile('/src/node_modules/big.js', 'big');
    fs.writeFile('/src/b.log', 'log');
    fs.tick();
    const store = new MemoryBlobStore();
    const saveFile = chunkingSaver(store, (p) => fs.readFile(p));
    const matcher = new PatternMatcher(['node_modules/', '*.log']);
    const r = await buildTree('/src', { fs, saveFile, saveBlob: store.save }, { exclude: (e) => matcher.matches(e.relPath, e.type === 'dir') });
    const paths: string[] = [];
    for await (const { path: p } of walkTree(r.root, store.loadTree)) paths.push(p);
    expect(paths).to.deep.equal(['keep', 'keep/a.txt']);
    expect(r.stats.excluded).to.equal(2);
    expect(saveFile.opened).to.deep.equal(['/src/keep/a.txt']);
  });
});

describe('restore --include/--exclude (pure filter)', function () {
  this.timeout(5000);
  const entries = ['docs', 'docs/a.pdf', 'docs/b.txt', 'docs/old', 'docs/old/c.pdf', 'src', 'src/x.ts', 'top.pdf']
    .map((p) => ({ path: p, type: /\.\w+$/.test(p) ? 'file' : 'dir' }));
  const sel = (o: Parameters<typeof filterForRestore>[1]) => filterForRestore(entries, o).map((e) => e.path);

  it('without patterns restores everything', () => {
    expect(sel({})).to.deep.equal(entries.map((e) => e.path));
  });

  it('--include keeps matches, what is under an included directory, and the directories holding them', () => {
    expect(sel({ include: ['*.pdf'] })).to.deep.equal(['docs', 'docs/a.pdf', 'docs/old', 'docs/old/c.pdf', 'top.pdf']);
    expect(sel({ include: ['/src'] })).to.deep.equal(['src', 'src/x.ts']);
  });

  it('--exclude drops matches and everything under an excluded directory; excludes win over includes', () => {
    expect(sel({ exclude: ['old/'] })).to.deep.equal(['docs', 'docs/a.pdf', 'docs/b.txt', 'src', 'src/x.ts', 'top.pdf']);
    expect(sel({ include: ['*.pdf'], exclude: ['docs/old'] })).to.deep.equal(['docs', 'docs/a.pdf', 'top.pdf']);
  });
});
