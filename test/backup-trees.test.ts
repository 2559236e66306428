/**
 * Backups as per-directory trees against a parent snapshot, through real peers on loopback
 * (an owner and 3 hosts, replicas 3): what a re-backup costs, the files cache, changed-path
 * backups, round trips of awkward changes, and a new machine restoring every snapshot.
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { chmodSync, mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync, statSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Peer, type PeerOptions } from '../src/peer/peer.js';
import type { BackupResult } from '../src/backup/engine.js';
import { MiB, peerOptions, startPeers, stopAll, tempDir } from './helpers/peers.js';
import { describeTree, type Described } from './helpers/trees.js';
import { withUnopenable } from './helpers/unopenable.js';

const FAST: Partial<PeerOptions> = {
  dht: { maxPerIpPerBucket: Infinity, rateLimit: null, lookupTimeoutMs: 1000, requestTimeoutMs: 1000, retries: 0 },
  // Compacted every 3 segments, so several backups cross a compaction.
  backup: { shardSize: 1 * MiB, chunkSizes: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }, hostGraceMs: 0, compactAfterSegments: 3 },
};

function ownerContracts(owner: Peer): number {
  return owner.contracts().filter((c) => c.role === 'owner').length;
}

/** Rows of the owner's chunk index (chunks and blobs it knows), read beside the running peer. */
function indexedBlobs(owner: Peer): number {
  const db = new Database(path.join(owner.dataDir, 'peer.db'), { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM chunks').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Makes every open of `file` fail as unreadable (EACCES), even for root, and counts the tries. */
const unreadable = withUnopenable;

describe('backups as trees against the parent snapshot (owner + 3 real hosts)', function () {
  this.timeout(120_000);
  let peers: Peer[] = [];
  let owner: Peer;
  const source = tempDir('dbs-trees-src-');
  /** Each snapshot and what the source looked like when it was taken. */
  const taken: { result: BackupResult; tree: Described[] }[] = [];

  async function backup(options: { force?: boolean; changedPaths?: string[] } = {}): Promise<BackupResult> {
    return record(await owner.backup(source, { replicas: 3, ...options }));
  }
  /** Keeps a backup's result with the tree it was taken of (read here, outside any unreadable window). */
  function record(result: BackupResult): BackupResult {
    expect(result.shortfall).to.equal(0);
    taken.push({ result, tree: describeTree(source) });
    return result;
  }

  async function restored(id: string): Promise<Described[]> {
    const dest = path.join(tempDir('dbs-trees-dest-'), 'r');
    const result = await owner.restore(id, dest);
    expect(result.incomplete).to.deep.equal([]);
    return describeTree(dest);
  }

  before(async () => {
    for (const dir of ['a/deep', 'b', 'c']) mkdirSync(path.join(source, dir), { recursive: true });
    for (let i = 0; i < 20; i++) writeFileSync(path.join(source, 'b', `f${i}.txt`), `file ${i}\n`.repeat(100 + i));
    writeFileSync(path.join(source, 'a', 'deep', 'big.bin'), randomBytes(600 * 1024));
    writeFileSync(path.join(source, 'a', 'note.txt'), 'note\n');
    writeFileSync(path.join(source, 'c', 'x.txt'), 'x\n');
    // A whole second, so the test can put exactly this mtime back after a rewrite.
    utimesSync(path.join(source, 'b', 'f4.txt'), 1_600_000_000, 1_600_000_000);
    peers = await startPeers(4, FAST);
    owner = peers[0]!;
  });
  after(() => stopAll(peers));

  it('an unchanged re-backup reads no file, stores no tree, uploads < 64 KiB in one shard and adds only that shard\'s contracts', async () => {
    const first = await backup();
    expect(first.stats.filesRead).to.equal(23);
    const contracts = ownerContracts(owner);
    const blobs = indexedBlobs(owner);
    const again = await backup();
    expect(again.stats.filesRead).to.equal(0);
    expect(again.stats.filesReused).to.equal(23);
    expect(again.stats.treesStored).to.equal(0);
    expect(again.stats.treesReused).to.equal(5);
    expect(again.uploadedBytes).to.be.greaterThan(0).and.lessThan(64 * 1024);
    expect(again.shards).to.equal(1);
    expect(ownerContracts(owner) - contracts).to.equal(3);
    // One blob more: the catalog segment (no chunk, no tree, an empty index delta).
    expect(indexedBlobs(owner) - blobs).to.equal(1);
    expect(await restored(again.id)).to.deep.equal(describeTree(source));
  });

  it('never opens an unchanged file (files cache), but catches a same-second same-size rewrite by its ctime', async () => {
    const unchanged = path.join(source, 'b', 'f3.txt');
    const edited = path.join(source, 'b', 'f4.txt');
    const before = statSync(edited);
    const text = readFileSync(edited, 'utf8');
    writeFileSync(edited, text.toUpperCase());
    // Same size, same mtime as before: only ctime (and the content) tell.
    utimesSync(edited, 1_600_000_000, 1_600_000_000);
    expect(statSync(edited).size).to.equal(before.size);
    expect(statSync(edited).mtimeMs).to.equal(before.mtimeMs);
    const { result, opens } = await unreadable(unchanged, () => owner.backup(source, { replicas: 3 }));
    record(result);
    expect(opens).to.equal(0);
    expect(result.stats.filesRead).to.equal(1);
    // The changed file's directory and the root: two new trees; a, a/deep and c are the same blobs.
    expect(result.stats.treesStored).to.equal(2);
    expect(result.stats.treesReused).to.equal(3);
    expect(await restored(result.id)).to.deep.equal(describeTree(source));
  });

  it('--force reads every file again (and stores nothing new)', async () => {
    const { result, opens } = await unreadable(path.join(source, 'b', 'f3.txt'), () => owner.backup(source, { replicas: 3, force: true }).catch((e: Error) => e));
    // Forced, the unreadable file is opened and the backup fails with the reason.
    expect(opens).to.equal(1);
    expect((result as NodeJS.ErrnoException).code).to.equal('EACCES');
    const forced = await backup({ force: true });
    expect(forced.stats.filesRead).to.equal(23);
    expect(forced.stats.filesReused).to.equal(0);
    expect(forced.stats.treesStored).to.equal(0);
    expect(forced.uploadedBytes).to.be.lessThan(64 * 1024);
  });

  it('with changed paths from a watcher, lists only the directories on them', async () => {
    writeFileSync(path.join(source, 'c', 'new.txt'), 'new\n');
    const result = await backup({ changedPaths: ['c/new.txt'] });
    // a and b kept the parent's subtrees unlisted; root and c were listed.
    expect(result.stats.dirsSkipped).to.equal(2);
    expect(result.stats.dirs).to.equal(2);
    expect(result.stats.filesRead).to.equal(1);
    expect(await restored(result.id)).to.deep.equal(describeTree(source));
  });

  it('round-trips a rename, a mode change, a deletion, a file replaced by a folder and a dangling symlink', async () => {
    renameSync(path.join(source, 'b', 'f1.txt'), path.join(source, 'b', 'renamed.txt'));
    chmodSync(path.join(source, 'b', 'f2.txt'), 0o600);
    unlinkSync(path.join(source, 'b', 'f5.txt'));
    unlinkSync(path.join(source, 'c', 'x.txt'));
    mkdirSync(path.join(source, 'c', 'x.txt'));
    writeFileSync(path.join(source, 'c', 'x.txt', 'inside'), 'inside\n');
    symlinkSync('../nowhere/at/all', path.join(source, 'a', 'dangling'));
    const result = await backup();
    expect(await restored(result.id)).to.deep.equal(describeTree(source));
  });

  it('a new machine with only the recovery key lists and restores every snapshot, across a compaction', async () => {
    // More backups, so the catalog chain is compacted (every 3 segments here) and extended again.
    writeFileSync(path.join(source, 'a', 'note.txt'), 'note, edited\n');
    await backup();
    rmSync(path.join(source, 'b'), { recursive: true });
    await backup();
    // Eight segments with a compaction every 3: the chain's base is a compacted one.
    const db = new Database(path.join(owner.dataDir, 'peer.db'), { readonly: true });
    const head = db.prepare('SELECT seq, base FROM catalog_head').get() as { seq: number; base: number };
    db.close();
    expect(head.seq).to.equal(taken.length - 1);
    expect(head.base).to.be.greaterThan(0);
    const key = owner.recoveryKey;
    const bootstrap = peers[1]!;
    await owner.stop();
    rmSync(owner.dataDir, { recursive: true, force: true });
    const fresh = await Peer.start(peerOptions({ ...FAST, recoveryKey: key, bootstrap: [bootstrap.address] }));
    peers.push(fresh);
    owner = fresh;
    const listed = await fresh.snapshots();
    expect(listed.map((s) => s.id).sort()).to.deep.equal(taken.map((t) => t.result.id).sort());
    for (const t of taken) expect(await restored(t.result.id), t.result.id).to.deep.equal(t.tree);
    // And it backs up on from there: the newest snapshot is the parent, nothing is read again.
    const next = await fresh.backup(source, { replicas: 3 });
    expect(next.stats.filesRead).to.equal(0);
    expect(next.stats.treesStored).to.equal(0);
  });
});
