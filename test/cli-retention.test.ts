/**
 * `dbs forget`, backup excludes and tags, restore filters: real `dbs start` processes on
 * 127.0.0.1 and every command as its own process, as a user types it.
 */
import { expect } from 'chai';
import { mkdirSync, promises as fsp, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEMO_TUNING, startPeerProcess, stopPeerProcess } from '../src/cli/demo.js';
import { classify } from '../src/cli/errors.js';
import { renderForgetPlan } from '../src/cli/forget.js';
import { CACHEDIR_SIGNATURE, ExcludeError } from '../src/backup/exclude.js';
import type { ForgetResult } from '../src/peer/retention.js';
import type { PruneResult } from '../src/backup/prune.js';
import type { SnapshotStats } from '../src/backup/snapshot-stats.js';
import { RetentionError } from '../src/retention/errors.js';
import { dbs } from './helpers/cli.js';
import { tempDir } from './helpers/peers.js';

type PeerProcess = Awaited<ReturnType<typeof startPeerProcess>>;
const ARGS = ['--host', '127.0.0.1', '--port', '0', '--storage', '256MiB', '--tuning', JSON.stringify(DEMO_TUNING)];

/** Every path under `root`, relative, sorted ('/'-separated). */
function listTree(root: string, rel = ''): string[] {
  return readdirSync(path.join(root, rel), { withFileTypes: true }).flatMap((e) => {
    const p = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? [p, ...listTree(root, p)] : [p];
  }).sort();
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).to.have.length(1);
  return lines[0]!;
}

describe('cli: forget, excludes, tags and restore filters against running peers', function () {
  this.timeout(60_000);
  const work = tempDir('dbs-ret-');
  const peers: PeerProcess[] = [];
  const source = path.join(work, 'source');
  const ids: string[] = [];

  before(async function () {
    this.timeout(60_000);
    peers.push(await startPeerProcess('p1', path.join(work, 'p1'), ARGS));
    peers.push(...(await Promise.all([2, 3].map((i) => startPeerProcess(`p${i}`, path.join(work, `p${i}`), [...ARGS, '--bootstrap', peers[0]!.address])))));
    for (const [rel, content] of Object.entries({
      'docs/a.txt': 'a', 'docs/b.pdf': 'b', 'build/out.o': 'o', 'notes.tmp': 't', 'keep.o': 'k',
      '.cache/CACHEDIR.TAG': `${CACHEDIR_SIGNATURE}\n`, '.cache/blob': 'cached', 'fake/CACHEDIR.TAG': 'not the signature', 'fake/data': 'd',
    })) {
      mkdirSync(path.dirname(path.join(source, rel)), { recursive: true });
      writeFileSync(path.join(source, rel), content);
    }
    writeFileSync(path.join(work, 'excludes'), '# build output\n*.o\n!keep.o\n');
  });

  after(async function () {
    this.timeout(30_000);
    await Promise.all(peers.map(stopPeerProcess));
    rmSync(work, { recursive: true, force: true });
  });

  const data = ['--data', path.join(work, 'p1')];

  it('backup --exclude, --exclude-file, --exclude-if-present CACHEDIR.TAG leaves those out of the snapshot', async () => {
    const r = await dbs(['backup', source, '--replicas', '2', '--exclude', '*.tmp', '--exclude-file', path.join(work, 'excludes'), '--exclude-if-present', 'CACHEDIR.TAG', '--json', ...data]);
    expect(r.code, r.stderr).to.equal(0);
    ids.push((JSON.parse(r.stdout) as { id: string }).id);
    const dest = path.join(work, 'restored');
    const back = await dbs(['restore', ids[0]!, dest, ...data]);
    expect(back.code, back.stderr).to.equal(0);
    expect(listTree(dest)).to.deep.equal(['.cache', '.cache/CACHEDIR.TAG', 'build', 'docs', 'docs/a.txt', 'docs/b.pdf', 'fake', 'fake/CACHEDIR.TAG', 'fake/data', 'keep.o']);
  });

  it('restore --include/--exclude restores only what the patterns select', async () => {
    const dest = path.join(work, 'only-docs');
    const r = await dbs(['restore', ids[0]!, dest, '--include', 'docs/', '--exclude', '*.pdf', ...data]);
    expect(r.code, r.stderr).to.equal(0);
    expect(listTree(dest)).to.deep.equal(['docs', 'docs/a.txt']);
  });

  it('forget --dry-run prints the plan with reasons; --json gives it as data', async () => {
    writeFileSync(path.join(source, 'docs/a.txt'), 'changed');
    const second = await dbs(['backup', source, '--replicas', '2', '--json', ...data]);
    expect(second.code, second.stderr).to.equal(0);
    ids.push((JSON.parse(second.stdout) as { id: string }).id);

    const json = await dbs(['forget', '--keep-last', '1', '--dry-run', '--json', ...data]);
    expect(json.code, json.stderr).to.equal(0);
    const plan = JSON.parse(json.stdout) as ForgetResult;
    expect(plan.dryRun).to.equal(true);
    expect(plan.groups).to.have.length(1);
    expect(plan.groups[0]!.source).to.equal(source);
    expect(plan.groups[0]!.keep.map((k) => [k.id, k.reasons])).to.deep.equal([[ids[1], ['last snapshot']]]);
    expect(plan.remove).to.deep.equal([ids[0]]);
    expect(plan.removed).to.deep.equal([]);

    const human = await dbs(['forget', '--keep-last', '1', '--keep-within', '1d', '--dry-run', ...data]);
    expect(human.code, human.stderr).to.equal(0);
    expect(human.stdout).to.match(/^Applying policy: keep 1 latest snapshots, all snapshots within 1d of the newest\n/);
    expect(human.stdout).to.contain(`keep 2 snapshot(s):`).and.contain('within 1d, last snapshot').and.contain('nothing to remove');

    const named = await dbs(['forget', ids[0]!.slice(0, 20), '--dry-run', '--json', ...data]);
    expect(named.code, named.stderr).to.equal(0);
    expect((JSON.parse(named.stdout) as ForgetResult).remove).to.deep.equal([ids[0]]);
  });

  it('backup --tag is stored and shown by snapshots; forget --keep-tag keeps by it and removes the rest for real', async () => {
    const tagged = await dbs(['backup', source, '--replicas', '2', '--tag', 'daily,v1', '--json', ...data]);
    expect(tagged.code, tagged.stderr).to.equal(0);
    ids.push((JSON.parse(tagged.stdout) as { id: string }).id);
    writeFileSync(path.join(source, 'docs/a.txt'), 'changed again');
    const plain = await dbs(['backup', source, '--replicas', '2', '--json', ...data]);
    expect(plain.code, plain.stderr).to.equal(0);
    ids.push((JSON.parse(plain.stdout) as { id: string }).id);
    const shown = await dbs(['snapshots', ...data]);
    expect(shown.stdout).to.match(/TAGS/).and.match(new RegExp(`${ids[2]}.*daily,v1`));
    const r = await dbs(['forget', '--keep-last', '1', '--keep-tag', 'daily', ...data]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('has tags [daily]').and.contain('removed 2 snapshot(s)');
    const list = await dbs(['snapshots', '--json', ...data]);
    const left = JSON.parse(list.stdout) as { id: string; tags?: string[] }[];
    expect(left.map((s) => [s.id, s.tags])).to.deep.equal([[ids[3], undefined], [ids[2], ['daily', 'v1']]]);
    const bad = await dbs(['backup', source, '--replicas', '2', '--tag', 'a\tb', ...data]);
    expect(bad.code).to.equal(2);
    expect(oneLine(bad.stderr)).to.match(/is not a tag/);
  });

  it('prune --dry-run plans, prune reclaims (contracts cancelled), the kept snapshots still restore', async () => {
    const dry = await dbs(['prune', '--dry-run', '--json', ...data]);
    expect(dry.code, dry.stderr).to.equal(0);
    const plan = JSON.parse(dry.stdout) as PruneResult;
    expect(plan.dryRun).to.equal(true);
    expect(plan.plan.drop + plan.plan.repack).to.be.greaterThan(0);
    const r = await dbs(['prune', '--max-unused', '0%', ...data]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/shard\(s\) removed, [1-9]\d* contract\(s\) cancelled/);
    for (const id of [ids[2]!, ids[3]!]) {
      const dest = path.join(work, `after-prune-${id}`);
      const back = await dbs(['restore', id, dest, ...data]);
      expect(back.code, back.stderr).to.equal(0);
    }
    const bad = await dbs(['prune', '--max-unused', '120', ...data]);
    expect(bad.code).to.equal(2);
    expect(oneLine(bad.stderr)).to.match(/^dbs: --max-unused takes a percentage/);
  });

  it('bad policies and excludes: exit 2 or 4 with one readable line', async () => {
    const cases: [string[], number, RegExp][] = [
      [['forget', ...data], 2, /^dbs: no policy given/],
      [['forget', '--keep-daily', 'x', ...data], 2, /^dbs: --keep-daily takes a whole number of 0 or more, or "unlimited" \(got "x"\)$/],
      [['forget', '--keep-within', '2w', ...data], 2, /^dbs: --keep-within: "2w" is not a keep duration/],
      [['forget', ids[2]!, '--keep-last', '1', '--dry-run', ...data], 2, /^dbs: give snapshot IDs or --keep-\* rules, not both$/],
      [['forget', '--keep-tag', 'nope', '--dry-run', ...data], 1, /^dbs: the policy keeps no snapshot of .*: refusing to remove them all$/],
      [['backup', source, '--exclude-file', path.join(work, 'missing'), ...data], 4, /^dbs: cannot read exclude file .*missing: ENOENT$/],
      [['backup', source, '--exclude-if-present', 'a/b', ...data], 2, /^dbs: --exclude-if-present needs a file name/],
    ];
    for (const [args, code, message] of cases) {
      const r = await dbs(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(code);
      expect(oneLine(r.stderr), args.join(' ')).to.match(message);
    }
  });

  it('ls, diff, find and stats look inside snapshots without restoring them', async () => {
    const ls = await dbs(['ls', 'latest', ...data]);
    expect(ls.code, ls.stderr).to.equal(0);
    expect(ls.stdout.trim().split('\n')).to.deep.equal(['.cache/', 'build/', 'docs/', 'fake/', 'keep.o', 'notes.tmp']);
    const long = await dbs(['ls', ids[3]!, 'docs', '--long', ...data]);
    expect(long.code, long.stderr).to.equal(0);
    expect(long.stdout).to.match(/^-rw[-rwx]{7} +13 \d{4}-\d\d-\d\d \d\d:\d\d docs\/a\.txt$/m);
    const all = await dbs(['ls', 'latest', '--recursive', '--json', ...data]);
    const paths = all.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { path: string }).path);
    expect(paths).to.include.members(['docs', 'docs/a.txt', '.cache/CACHEDIR.TAG', 'fake/data']);
    const missing = await dbs(['ls', 'latest', 'nope', ...data]);
    expect(missing.code).to.not.equal(0);
    expect(oneLine(missing.stderr)).to.match(/no path "nope"/);

    const diff = await dbs(['diff', ids[2]!, ids[3]!, ...data]);
    expect(diff.code, diff.stderr).to.equal(0);
    expect(diff.stdout.trim().split('\n')).to.deep.equal(['M  docs/a.txt  7 B -> 13 B']);
    const same = await dbs(['diff', ids[3]!, ids[3]!, ...data]);
    expect(same.stdout.trim()).to.equal('no differences');

    const found = await dbs(['find', '*.pdf', ...data]);
    expect(found.code, found.stderr).to.equal(0);
    expect(found.stdout.trim().split('\n').map((l) => l.split(/\s+/).slice(0, 2).join(' '))).to.deep.equal([`${ids[3]} docs/b.pdf`, `${ids[2]} docs/b.pdf`]);
    const one = await dbs(['find', 'docs/', '--snapshot', ids[3]!, '--json', ...data]);
    expect(one.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { path: string }).path)).to.deep.equal(['docs']);

    const stats = await dbs(['stats', '--json', ...data]);
    expect(stats.code, stats.stderr).to.equal(0);
    const st = JSON.parse(stats.stdout) as SnapshotStats;
    expect(st.snapshots.map((x) => x.id)).to.deep.equal([ids[3], ids[2]]);
    expect(st.storedBytes).to.be.greaterThan(0);
    // Two replicas of every shard.
    expect(st.hostBytes).to.equal(2 * st.shardBytes);
    expect(st.contracts).to.equal(2 * st.shards);
    // Each snapshot's unique bytes: a number, at most what is stored in all.
    for (const x of st.snapshots) expect(x.uniqueBytes).to.be.a('number').within(1, st.storedBytes);
    const human = await dbs(['stats', ...data]);
    expect(human.stdout).to.match(/^ID +SOURCE +FILES +SIZE +UNIQUE$/m);
  });

  it('start --watch --keep-last 1: the peer forgets and prunes after its watched backups by itself', async function () {
    this.timeout(60_000);
    const folder = path.join(work, 'watched');
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'f.txt'), 'one');
    const p4 = path.join(work, 'p4');
    // Paced to run after every backup here (the default is once per 24 backups or per day: src/retention/pacer.ts).
    const args = ARGS.map((a, k) => (ARGS[k - 1] === '--tuning' ? JSON.stringify({ ...DEMO_TUNING, retentionPace: { everyBackups: 1 } }) : a));
    peers.push(await startPeerProcess('p4', p4, [...args, '--bootstrap', peers[0]!.address, '--watch', folder, '--quiet', '100ms', '--replicas', '2', '--keep-last', '1']));
    const snapshotsOf = async () => JSON.parse((await dbs(['snapshots', '--json', '--data', p4])).stdout) as { id: string; bytes: number }[];
    const waitFor = async (what: string, ok: (list: { id: string; bytes: number }[]) => boolean) => {
      for (const end = Date.now() + 40_000; Date.now() < end; await new Promise((r) => setTimeout(r, 250))) if (ok(await snapshotsOf())) return;
      throw new Error(`gave up waiting for ${what}`);
    };
    await waitFor('the first watched backup', (l) => l.length === 1 && l[0]!.bytes === 3);
    writeFileSync(path.join(folder, 'f.txt'), 'two, longer');
    // The second backup happened, and retention left only it.
    await waitFor('the second backup, alone', (l) => l.length === 1 && l[0]!.bytes === 11);
    // The forget shows in the list at once; the prune after it is logged when it is done.
    const logged = async () => /"event":"auto-retention","removed":1,/.test(await fsp.readFile(path.join(p4, 'dbs.log'), 'utf8'));
    for (const end = Date.now() + 30_000; !(await logged()); await new Promise((r) => setTimeout(r, 250))) {
      if (Date.now() > end) throw new Error('gave up waiting for the auto-retention log line');
    }
    const bad = await dbs(['watch', folder, '--keep-last', 'x', '--data', p4]);
    expect(bad.code).to.equal(2);
  });
});

describe('cli: forget plan rendering and error codes (no peer)', function () {
  this.timeout(5000);

  it('renders kept snapshots with reasons and removed ones per group', () => {
    const text = renderForgetPlan({
      policy: 'keep 1 latest snapshots', dryRun: true, remove: ['old'], removed: [],
      groups: [{ source: '/src', keep: [{ id: 'new', createdAt: 0, reasons: ['last snapshot'] }], remove: [{ id: 'old', createdAt: 0 }] }],
    });
    expect(text.split('\n')).to.include.members(['Applying policy: keep 1 latest snapshots', 'snapshots of /src:', 'keep 1 snapshot(s):', 'remove 1 snapshot(s):', 'would remove 1 snapshot(s) (dry run)']);
    expect(text).to.match(/new\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+last snapshot/);
  });

  it('maps typed retention and exclude errors to exit codes by code', () => {
    expect(classify(new RetentionError('NOT_SUPPORTED_YET', 'x')).exitCode).to.equal(8);
    expect(classify(new RetentionError('EMPTY_POLICY', 'x')).exitCode).to.equal(2);
    expect(classify(new ExcludeError('EXCLUDE_FILE_UNREADABLE', 'x')).exitCode).to.equal(4);
    expect(classify(Object.assign(new Error('x'), { code: 'BAD_POLICY' })).exitCode, 'an unrelated error with that code').to.equal(1);
  });
});
