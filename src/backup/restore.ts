/**
 * One restore, walking the snapshot's trees directory by directory (memory: the listings on
 * the current path, never the whole snapshot): recover the catalog if this machine has none;
 * walk once to plan (bytes, shard order, slot sizes: restore-plan.ts) and start fetching shards
 * a few at a time ahead of the writers (RestoreShards); walk again making directories and
 * symlinks and writing files (FileRestorer: several small ones at once through the crypto
 * worker's small slots, named in synced batches; large ones one at a time); then make the
 * names durable and give directories their modes and times, deepest first.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import PQueue from 'p-queue';
import { SnapshotFormatError } from '../snapshot/errors.js';
import type { TreeNode } from '../snapshot/tree-format.js';
import { fileChunkIds, type LoadTree, treeLoader, walkTree, type WalkedEntry } from '../snapshot/tree-walker.js';
import { fsyncDir } from '../util/atomic-file.js';
import { syncFileSystem } from '../util/sync-fs.js';
import { BlobReader, MissingBlobError } from './blob-reader.js';
import type { BackupKeys } from './crypto.js';
import { CryptoWorker } from './crypto-worker.js';
import { DurableRenames } from './durable-renames.js';
import { FileRestorer, MissingChunk } from './file-restorer.js';
import type { BackupIndex } from './index-db.js';
import type { ReplicaLocator } from './replica-locator.js';
import { restoreFilter, type RestoreFilterOptions } from './restore-filter.js';
import { RestoreShards } from './restore-shards.js';
import { isLarge, LeftDirectories, normalizePrefix, RestorePlan, slotSizes, withAncestors } from './restore-plan.js';
import { DURABLE_BATCH_BYTES, DURABLE_BATCH_FILES, OPENING_SLOTS, RESTORE_FILES } from './constants.js';
import type { RestoreProgress, RestoreResult } from './types.js';
import { asRestoreError, checkRestoreSpace } from './restore-space.js';

export interface RestoreDeps {
  keys: BackupKeys;
  index: BackupIndex;
  locator: Pick<ReplicaLocator, 'localCopy' | 'fetchShard'>;
  /** Imports snapshots from the network (recovery.ts). */
  recover: () => Promise<void>;
  /** The largest plaintext chunk we cut (bytes). */
  maxChunk: number;
  /** Where the restore's downloads go (a directory of its own is made inside). */
  tmp: string;
}

/** files: waiting to be written at most, beyond those being written (bounds the walk's lead). */
const QUEUED_FILES = 4 * RESTORE_FILES;

export async function runRestore(deps: RestoreDeps, snapshotId: string, dest: string, filter: RestoreFilterOptions & { path?: string }, onProgress: (p: RestoreProgress) => void): Promise<RestoreResult> {
  const only = filter.path;
  // --include/--exclude (restore-filter.ts): entries left out are skipped by every pass; a kept
  // entry's directories are made when it is written (recursive mkdir), so only they appear.
  const keep = restoreFilter(filter);
  const { index, locator } = deps;
  if (index.snapshots().length === 0) await deps.recover();
  const summary = index.snapshots().find((s) => s.id === snapshotId);
  if (!summary) throw new Error(`unknown snapshot ${snapshotId}`);
  if (!summary.root) throw new SnapshotFormatError('LEGACY_SNAPSHOT', `snapshot ${snapshotId} was written in the first format (one blob for the whole tree), which this version does not restore; back up again with this version`);
  await assertEmptyOrMissing(dest);
  const work = await fs.mkdtemp(path.join(deps.tmp, 'restore-'));
  // A verified copy of each shard: our own, or downloaded from any live replica.
  const shards = new RestoreShards(async (hash) => (await locator.localCopy(index.shard(hash))) ?? locator.fetchShard(hash, work));
  const blobs = new BlobReader(deps.keys, index, (hash) => shards.file(hash));
  const loadTree = treeLoader(blobs.load);
  const prefix = normalizePrefix(only);
  const root = summary.root;
  const entries = () => selectEntries(root, prefix, loadTree, snapshotId);
  // A file's chunk IDs, with a chunk-list blob no replica can supply counting as a missing chunk.
  const idsOf = async function* (node: WalkedEntry['node']): AsyncGenerator<Uint8Array> {
    try {
      yield* fileChunkIds(node, blobs.load);
    } catch (err) {
      throw err instanceof MissingBlobError ? new MissingChunk(err.message) : err;
    }
  };
  let durable: DurableRenames | null = null;
  let opener: CryptoWorker | null = null;
  const small = new PQueue({ concurrency: RESTORE_FILES });
  const large = new PQueue({ concurrency: 1 });
  let failure: { error: unknown } | null = null;
  let finished = false;
  try {
    // Pass 1: the plan. Trees are small next to the data; walking them twice costs little.
    const plan = new RestorePlan();
    for await (const { path: rel, node } of entries()) {
      if (node.type !== 'file' || (keep && !keep(rel, false))) continue;
      const locations = [];
      try {
        for await (const id of idsOf(node)) locations.push(index.chunk(id));
      } catch (err) {
        // Reported as incomplete by pass 2; the plan just has nothing to fetch for it.
        if (!(err instanceof MissingChunk)) throw err;
      }
      plan.addFile(node.size, locations);
    }
    shards.prefetch(plan.shards);
    const slots = slotSizes(plan, deps.maxChunk);
    opener = new CryptoWorker(deps.keys, slots.slotBytes, OPENING_SLOTS, slots.small);
    const progress: RestoreProgress = { files: 0, bytes: 0, totalBytes: plan.totalBytes };
    await checkRestoreSpace(dest, progress.totalBytes);
    await fs.mkdir(prefix ? path.dirname(path.join(dest, prefix)) : dest, { recursive: true });
    // Small files get their names in batches, once a batch is on the device: one syncfs per
    // batch (durable-renames.ts). Where there is no syncfs, each is fsynced and renamed.
    const syncDest = async () => {
      if (!(await syncFileSystem(dest))) throw new Error(`could not sync the restored files in ${dest} (sync -f failed)`);
    };
    if (await syncFileSystem(dest)) durable = new DurableRenames({ maxFiles: DURABLE_BATCH_FILES, maxBytes: DURABLE_BATCH_BYTES, sync: syncDest });
    const restorer = new FileRestorer((id) => index.chunk(id), shards, opener, durable);
    // Pass 2: directories and symlinks as the walk meets them, files through the two queues.
    const incomplete: { at: number; path: string }[] = [];
    let at = 0;
    for await (const { path: rel, node } of entries()) {
      if (failure) break;
      const target = path.join(dest, rel);
      const n = at++;
      if (keep && !keep(rel, node.type === 'dir')) continue;
      if (keep) await fs.mkdir(path.dirname(target), { recursive: true });
      if (node.type === 'dir') {
        await fs.mkdir(target, { recursive: keep !== null });
      } else if (node.type === 'symlink') {
        await fs.symlink(node.target!, target);
        // Not every system can set a symlink's own times; the link itself is what matters.
        await fs.lutimes(target, node.mtimeMs / 1000, node.mtimeMs / 1000).catch(() => {});
      } else {
        const queue = isLarge(node) ? large : small;
        await queue.onSizeLessThan(QUEUED_FILES);
        void queue.add(async () => {
          const ok = await restorer.restore(node, idsOf(node), target, (bytes) => {
            progress.bytes += bytes;
            onProgress({ ...progress });
          });
          if (ok) progress.files++;
          else incomplete.push({ at: n, path: rel });
          onProgress({ ...progress });
        }).catch((error: unknown) => {
          failure ??= { error };
        });
      }
    }
    await Promise.all([small.onIdle(), large.onIdle()]);
    if (failure) throw (failure as { error: unknown }).error;
    await durable?.flush();
    // The names (renames, symlinks, directories) on the device before the restore says it is
    // done; before the directories get their modes, which may take away our right to read them.
    if (durable) await syncDest();
    // Pass 3: directory modes and times, each once the walk has left it (deepest first):
    // writing into a directory changes its mtime.
    const left = new LeftDirectories<WalkedEntry>();
    const finish = async (dirs: WalkedEntry[]) => {
      for (const d of dirs) {
        const target = path.join(dest, d.path);
        // Filtered: a directory nothing kept was written into was never made.
        if (keep && !(await fs.lstat(target).catch(() => null))?.isDirectory()) continue;
        if (!durable) await fsyncDir(target);
        await fs.chmod(target, d.node.mode & 0o7777);
        await fs.utimes(target, d.node.mtimeMs / 1000, d.node.mtimeMs / 1000);
      }
    };
    for await (const e of entries()) await finish(left.next(e, e.node.type === 'dir' ? e : null));
    await finish(left.end());
    if (!durable) for (const dir of withAncestors([prefix ? path.dirname(path.join(dest, prefix)) : dest], path.dirname(dest))) await fsyncDir(dir);
    finished = true;
    return { files: progress.files, bytes: progress.bytes, incomplete: incomplete.sort((a, b) => a.at - b.at).map((x) => x.path) };
  } catch (err) {
    throw asRestoreError(err, dest);
  } finally {
    if (!finished) {
      // A failure may leave file tasks running: none may add a file after the discard.
      small.clear();
      large.clear();
      await Promise.all([small.onIdle(), large.onIdle()]);
      // The restore already failed with its own error; files not named yet stay unnamed either way.
      await durable?.discard().catch(() => {});
    }
    await opener?.close();
    await shards.close();
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** The entries at `prefix` and below it (every entry when it is ''), depth-first. */
async function* selectEntries(root: Uint8Array, prefix: string, loadTree: LoadTree, snapshotId: string): AsyncGenerator<WalkedEntry> {
  if (!prefix) {
    yield* walkTree(root, loadTree);
    return;
  }
  let tree: Uint8Array | undefined = root;
  const parts = prefix.split('/');
  for (let i = 0; i < parts.length; i++) {
    const node: TreeNode | undefined = tree ? (await loadTree(tree)).find((n) => n.name === parts[i]) : undefined;
    if (!node) throw new Error(`no path "${prefix}" in snapshot ${snapshotId}`);
    if (i === parts.length - 1) {
      yield { path: prefix, node };
      if (node.type === 'dir') yield* walkTree(node.subtree!, loadTree, {}, prefix);
      return;
    }
    tree = node.type === 'dir' ? node.subtree : undefined;
  }
}

async function assertEmptyOrMissing(dest: string): Promise<void> {
  const names = await fs.readdir(dest).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    if (err.code === 'ENOTDIR') throw new Error(`destination ${dest} is not a directory`);
    throw err;
  });
  if (names.length > 0) throw new Error(`destination ${dest} is not empty`);
}
