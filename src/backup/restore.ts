/**
 * One restore: recover the catalog if this machine has none, fetch the snapshot object, plan
 * (restore-plan.ts), fetch the shards the files need a few at a time ahead of the writers
 * (RestoreShards), write every file (FileRestorer), then make the names durable and give the
 * directories their modes and times.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import PQueue from 'p-queue';
import { fsyncDir } from '../util/atomic-file.js';
import { syncFileSystem } from '../util/sync-fs.js';
import type { BackupKeys } from './crypto.js';
import { CryptoWorker } from './crypto-worker.js';
import { DurableRenames } from './durable-renames.js';
import { FileRestorer } from './file-restorer.js';
import { decodeSnapshot, type TreeEntry } from './formats.js';
import type { BackupIndex } from './index-db.js';
import { readBlob } from './metadata.js';
import type { ReplicaLocator } from './replica-locator.js';
import { filterForRestore, type RestoreFilterOptions } from './restore-filter.js';
import { RestoreShards } from './restore-shards.js';
import { dirsDeepestFirst, isLarge, selectEntries, shardsInOrder, slotSizes, totalBytes, withAncestors } from './restore-plan.js';
import { DURABLE_BATCH_BYTES, DURABLE_BATCH_FILES, OPENING_SLOTS, RESTORE_FILES } from './constants.js';
import type { RestoreProgress, RestoreResult } from './types.js';
import { asRestoreError, checkRestoreSpace } from './restore-space.js';

export interface RestoreDeps {
  keys: BackupKeys;
  index: BackupIndex;
  locator: Pick<ReplicaLocator, 'localCopy' | 'liveContracts' | 'fetchFromAny'>;
  /** Imports snapshots from the network (recovery.ts). */
  recover: () => Promise<void>;
  /** The largest plaintext chunk we cut (bytes). */
  maxChunk: number;
  /** Where the restore's downloads go (a directory of its own is made inside). */
  tmp: string;
}

export async function runRestore(deps: RestoreDeps, snapshotId: string, dest: string, filter: RestoreFilterOptions & { path?: string }, onProgress: (p: RestoreProgress) => void): Promise<RestoreResult> {
  const only = filter.path;
  const { index, locator } = deps;
  if (index.snapshots().length === 0) await deps.recover();
  const summary = index.snapshots().find((s) => s.id === snapshotId);
  if (!summary) throw new Error(`unknown snapshot ${snapshotId}`);
  await assertEmptyOrMissing(dest);
  const work = await fs.mkdtemp(path.join(deps.tmp, 'restore-'));
  // A verified copy of each shard: our own, or downloaded from any live replica.
  const locate = async (hash: Uint8Array) => (await locator.localCopy(index.shard(hash))) ?? locator.fetchFromAny(locator.liveContracts(hash), work);
  const shards = new RestoreShards(locate);
  let durable: DurableRenames | null = null;
  let opener: CryptoWorker | null = null;
  // File tasks, awaited before anything is cleaned up (even when the loop that starts them fails).
  const small = new PQueue({ concurrency: RESTORE_FILES });
  const large = new PQueue({ concurrency: 1 });
  const outcomes: Promise<boolean>[] = [];
  let finished = false;
  try {
    const metaFile = await shards.file(summary.meta.shard!);
    if (!metaFile) throw new Error('no host could supply the snapshot metadata');
    const snapshot = decodeSnapshot(await readBlob(deps.keys, metaFile, { ...summary.meta }));
    const { prefix, selected: underPath } = selectEntries(snapshot, only);
    if (prefix && underPath.length === 0) throw new Error(`no path "${only}" in snapshot ${snapshotId}`);
    const selected = filterForRestore(underPath, filter);
    const slots = slotSizes(snapshot, selected, deps.maxChunk);
    opener = new CryptoWorker(deps.keys, slots.slotBytes, OPENING_SLOTS, slots.small);
    const progress: RestoreProgress = { files: 0, bytes: 0, totalBytes: totalBytes(selected) };
    await checkRestoreSpace(dest, progress.totalBytes);
    await fs.mkdir(dest, { recursive: true });
    // Small files get their names in batches, once a batch is on the device: one syncfs per
    // batch (durable-renames.ts). Where there is no syncfs, each is fsynced and renamed.
    const syncDest = async () => {
      if (!(await syncFileSystem(dest))) throw new Error(`could not sync the restored files in ${dest} (sync -f failed)`);
    };
    if (await syncFileSystem(dest)) durable = new DurableRenames({ maxFiles: DURABLE_BATCH_FILES, maxBytes: DURABLE_BATCH_BYTES, sync: syncDest });
    const dirs = selected.filter((x) => x.type === 'dir');
    for (const e of dirs) await fs.mkdir(path.join(dest, e.path), { recursive: true });
    // Shards are fetched in the order the files need them, a few at a time, ahead of the writers.
    shards.prefetch(shardsInOrder(snapshot, selected));
    const restorer = new FileRestorer(snapshot, shards, opener, durable);
    // Small files are written several at a time through their own small slots, and named in
    // synced batches; large ones one at a time beside them (each holds a sealed and an open
    // chunk of up to 4 MiB in memory), fsynced and renamed one by one; results keep the
    // snapshot's order. Directories known to exist: one mkdir per directory, not one per file.
    const made = new Set([dest, ...dirs.map((x) => path.join(dest, x.path))]);
    const ensureDir = async (dir: string) => {
      if (made.has(dir)) return;
      await fs.mkdir(dir, { recursive: true });
      made.add(dir);
    };
    const fileEntries: TreeEntry[] = [];
    for (const e of selected) {
      const target = path.join(dest, e.path);
      if (e.type === 'symlink') {
        await ensureDir(path.dirname(target));
        await fs.symlink(e.target!, target);
        // Not every system can set a symlink's own times; the link itself is what matters.
        await fs.lutimes(target, e.mtimeMs / 1000, e.mtimeMs / 1000).catch(() => {});
      } else if (e.type === 'file') {
        fileEntries.push(e);
        const outcome = (isLarge(e) ? large : small).add(async () => {
          await ensureDir(path.dirname(target));
          const ok = await restorer.restore(e, target, (n) => {
            progress.bytes += n;
            onProgress({ ...progress });
          });
          if (ok) progress.files++;
          onProgress({ ...progress });
          return ok;
        }) as Promise<boolean>;
        // Awaited below; this only keeps an early failure from counting as unhandled.
        outcome.catch(() => {});
        outcomes.push(outcome);
      }
    }
    const settled = await Promise.allSettled(outcomes);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const incomplete = fileEntries.filter((_, i) => !(settled[i] as PromiseFulfilledResult<boolean>).value).map((e) => e.path);
    await durable?.flush();
    // The names (renames, symlinks, directories) on the device before the restore says it is
    // done; before the directories get their modes, which may take away our right to read them.
    if (durable) await syncDest();
    else for (const dir of withAncestors(made, path.dirname(dest))) await fsyncDir(dir);
    // Directory modes and times last, deepest first: writing into a directory changes its mtime.
    for (const e of dirsDeepestFirst(selected)) {
      const target = path.join(dest, e.path);
      await fs.chmod(target, e.mode & 0o7777);
      await fs.utimes(target, e.mtimeMs / 1000, e.mtimeMs / 1000);
    }
    finished = true;
    return { files: progress.files, bytes: progress.bytes, incomplete };
  } catch (err) {
    throw asRestoreError(err, dest);
  } finally {
    if (!finished) {
      // A failure may leave file tasks running: none may add a file after the discard.
      small.clear();
      large.clear();
      await Promise.allSettled(outcomes);
      // The restore already failed with its own error; files not named yet stay unnamed either way.
      await durable?.discard().catch(() => {});
    }
    await opener?.close();
    await shards.close();
    await fs.rm(work, { recursive: true, force: true });
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
