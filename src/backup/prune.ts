/**
 * Prune, executed (docs/retention.md, "What prune does"): the plan comes from the local index
 * alone (src/retention/prune-plan.ts, the `PruneIndex` port over index-db) against the blobs
 * the kept snapshots need (collected by walking their trees); then, in this order, so that a
 * prune killed at any step loses nothing a kept snapshot needs and the next prune finishes:
 *
 * 1. repack: the needed chunks of mostly-unused or small shards are copied as they are (sealed
 *    blobs: no reseal) into new full shards, each placed on hosts BEFORE its chunks' index
 *    entries move to it (killed before: the new shard holds nothing the index points at, and
 *    the next prune drops it);
 * 2. rewrite: the whole live index as new delta pieces and the live catalog as a new base chain
 *    (src/backup/metadata.ts `rewriteAll`), in the last repacked shard (else a shard of their
 *    own), placed, then named by a new root record; afterwards no live index piece or catalog
 *    segment is in a shard about to go;
 * 3. forget the doomed shards locally (index rows and chunk entries, one transaction), then
 *    cancel every live owner contract whose shard the index no longer knows (hosts delete the
 *    shard; the ledger and `status` follow), then delete our local copies. Killed between,
 *    the next prune starts with step 3's cancellations (`cancelOrphans`). Contracts known only
 *    by ID (a recovered head shard's) are cancelled there too once nothing needs them
 *    (prune-unrecorded.ts).
 */
import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import { ChunkIdSet } from '../retention/chunk-set.js';
import { RetentionError } from '../retention/errors.js';
import { collectNeededChunks } from '../retention/needed-chunks.js';
import { planPrune, type PrunePlan } from '../retention/prune-plan.js';
import { decodeTree } from '../snapshot/tree-format.js';
import { toHex } from '../util/bytes.js';
import { BlobReader, cachedShardFiles } from './blob-reader.js';
import type { BackupKeys } from './crypto.js';
import type { BackupIndex } from './index-db.js';
import type { Metadata } from './metadata.js';
import type { ShardPlacement } from './placement.js';
import type { OwnerContracts, PeerFinder } from './ports.js';
import { cancelUnrecorded } from './prune-unrecorded.js';
import type { UnrecordedContracts } from './unrecorded-contracts.js';
import { keptShard } from './piece-schemes.js';
import type { ReplicaLocator } from './replica-locator.js';
import { CANCEL_AT_ONCE } from './constants.js';
import { ShardWriter } from './shard-writer.js';

export interface PruneDeps {
  keys: BackupKeys;
  index: BackupIndex;
  locator: Pick<ReplicaLocator, 'localCopy' | 'fetchShard' | 'liveContracts'>;
  placement: Pick<ShardPlacement, 'placeNew'>;
  metadata: Pick<Metadata, 'rewriteAll'>;
  contracts: Pick<OwnerContracts, 'live' | 'cancel' | 'cancelMany' | 'cancelById'>;
  /** Contracts known only by ID (a recovered head shard's), and how to reach their hosts. */
  unrecorded: Pick<UnrecordedContracts, 'list' | 'remove'>;
  peers: PeerFinder;
  now: () => number;
  /** Runs the removal step once browsing walks begun before it have ended (BrowseGate.removal). */
  removal: (work: () => Promise<void>, waiting: () => void) => Promise<void>;
  outbox: string;
  tmp: string;
  shardSize: number;
  /**
   * The live metadata: index-piece IDs and every blob of the shard holding the head catalog
   * segment (the chain's segments are not indexed by ID; the head shard holds the newest).
   */
  pinned: () => Iterable<Uint8Array>;
  /** The shard holding the head catalog segment (null before the first backup). */
  headShard: () => Uint8Array | null;
}

/**
 * Where a prune is: each step's end, the first contract cancelled, the rest told to their hosts
 * but not yet recorded here, and waiting for browsing walks to end.
 */
export type PruneStep = 'repacked' | 'rewritten' | 'waiting-for-browsing' | 'forgotten-shards' | 'cancelled-one' | 'cancels-sent';

export interface PruneOptions {
  /** Unused bytes allowed to stay, percent of what stays (restic's `--max-unused`, default 5). */
  maxUnusedPercent?: number;
  dryRun?: boolean;
  /** Plan as if these snapshots were forgotten already (`forget --prune --dry-run`); only with `dryRun`. */
  assumeForgotten?: string[];
  /** Called at each step's end (progress; the crash tests SIGKILL the process there). */
  onStep?: (step: PruneStep) => void;
}

export interface PruneResult {
  dryRun: boolean;
  plan: Omit<PrunePlan, 'drop' | 'repack'> & { drop: number; repack: number };
  /** New shards the needed chunks of repacked ones went into. */
  repackedInto: number;
  /** Contracts cancelled (this prune's and any a killed prune left). */
  cancelled: number;
  /** Shards no longer kept. */
  removedShards: number;
}

export async function runPrune(deps: PruneDeps, opts: PruneOptions = {}): Promise<PruneResult> {
  const { index } = deps;
  // A killed prune's leftovers first: contracts of shards the index already forgot.
  // A dry run changes nothing, not even a killed prune's leftovers.
  let cancelled = opts.dryRun ? 0 : (await cancelOrphans(deps, opts)) + (await cancelUnrecorded(deps, deps.now()));
  const work = await fs.mkdtemp(path.join(deps.tmp, 'prune-'));
  try {
    const shardFile = cachedShardFiles(deps.locator, index, work);
    const reader = new BlobReader(deps.keys, index, shardFile);
    const needed = new ChunkIdSet();
    const gone = new Set(opts.dryRun ? (opts.assumeForgotten ?? []) : []);
    const roots = index.snapshots().flatMap((s) => (s.root && !gone.has(s.id) ? [s.root] : []));
    await collectNeededChunks(roots, { loadTree: async (id) => decodeTree(await reader.load(id)), loadBlob: reader.load }, needed);
    const planOptions = { smallShardBytes: deps.shardSize / 2, ...(opts.maxUnusedPercent === undefined ? {} : { maxUnusedPercent: opts.maxUnusedPercent }) };
    // The plan carried out: the live index pieces and catalog segments count as unused, as the
    // rewrite (step 2) replaces them.
    const plan = await planPrune(pruneIndex(index), needed, planOptions);
    if (plan.missingChunks > 0) throw new RetentionError('PRUNE_INCOMPLETE_INDEX', `${plan.missingChunks} blob(s) a kept snapshot needs are in no shard of the index: nothing is pruned (run \`dbs check\`)`);
    // Whether to carry it out: with them counted as used. Otherwise a prune right after a prune
    // would find the metadata it just wrote "unused" and rewrite it again, every time.
    needed.resetSeen();
    const pinned = new Set<string>();
    for (const id of deps.pinned()) if (needed.add(id)) pinned.add(toHex(id));
    // The head segment's shard is left out of this plan: after a prune it is the rewrite's shard
    // (metadata, maybe after the last repacked chunks), often small, which the small-shard rule
    // would otherwise repack every time.
    const head = deps.headShard();
    const worth = await planPrune(pruneIndex(index, head ? toHex(head) : null), needed, planOptions);
    const acts = worth.drop.length > 0 || worth.repack.length > 0;
    const summary = { ...plan, drop: acts ? plan.drop.length : 0, repack: acts ? plan.repack.length : 0 };
    const result: PruneResult = { dryRun: opts.dryRun === true, plan: summary, repackedInto: 0, cancelled, removedShards: 0 };
    if (result.dryRun || !acts) return result;

    const doomed = new Set([...plan.drop, ...plan.repack].map((s) => toHex(s.hash)));
    const replicas = Math.max(1, ...index.shards().map((s) => s.replicas));
    const repacked = await repack(deps, plan.repack.map((s) => s.hash), (id) => needed.has(id) && !pinned.has(toHex(id)), shardFile, replicas);
    result.repackedInto = repacked.placed + (repacked.open ? 1 : 0);
    opts.onStep?.('repacked');
    // The last repacked shard, not yet full, takes the rewritten metadata too: one placement
    // fewer (as a backup's last shard holds its index delta and catalog segment).
    await deps.metadata.rewriteAll(liveEntries(index, doomed), doomed, replicas, repacked.open ?? undefined, deps.shardSize);
    opts.onStep?.('rewritten');
    // Browsing walks begun before this see the index as it was until they end (browse-gate.ts).
    await deps.removal(async () => {
      const copies = [...doomed].map((h) => index.shard(Buffer.from(h, 'hex'))?.localPath ?? null);
      index.transaction(() => {
        for (const h of doomed) index.removeShard(Buffer.from(h, 'hex'));
      });
      result.removedShards = doomed.size;
      opts.onStep?.('forgotten-shards');
      cancelled += await cancelOrphans(deps, opts);
      cancelled += await cancelUnrecorded(deps, deps.now());
      // Synchronous: through the thread pool each unlink cost ~10x its own time (42 took ~100 ms).
      for (const file of copies) if (file) rmSync(file, { force: true });
    }, () => opts.onStep?.('waiting-for-browsing'));
    result.cancelled = cancelled;
    return result;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** The PruneIndex port over index-db: one shard at a time, its entries a page at a time. */
function pruneIndex(index: BackupIndex, skip: string | null = null) {
  return {
    async *shards() {
      for (const s of index.shards()) if (toHex(s.hash) !== skip) yield { hash: s.hash, size: s.size, chunks: (function* () {
        for (const e of index.chunksIn(s.hash)) yield { id: e.chunk, length: e.length };
      })() };
    },
  };
}

function* liveEntries(index: BackupIndex, doomed: Set<string>) {
  for (const s of index.shards()) if (!doomed.has(toHex(s.hash))) yield* index.chunksIn(s.hash);
}

/**
 * Copies the needed chunks of `shards` into new shards of about `shardSize`, each full one
 * placed before the index entries move to it. Returns how many were placed, and the last one,
 * not full, still open (the rewrite adds the metadata to it, places it, then moves its entries).
 */
async function repack(deps: PruneDeps, shards: Uint8Array[], moves: (id: Uint8Array) => boolean, shardFile: (h: Uint8Array) => Promise<string | null>, replicas: number): Promise<{ placed: number; open: ShardWriter | null }> {
  let writer: ShardWriter | null = null;
  let made = 0;
  const close = async () => {
    if (!writer) return;
    const w = writer;
    writer = null;
    const placed = await deps.placement.placeNew(w, replicas, 'data', await w.finish());
    // Placed first, then the entries move: the index never points at a shard no host has.
    deps.index.putChunks(w.chunks.map((c) => ({ chunk: c.id, shard: placed.hash, offset: c.offset, length: c.length })));
    made++;
  };
  for (const hash of shards) {
    const moving = [...deps.index.chunksIn(hash)].filter((e) => moves(e.chunk));
    if (moving.length === 0) continue;
    const file = await shardFile(hash);
    if (!file) throw new RetentionError('PRUNE_INCOMPLETE_INDEX', `shard ${toHex(hash).slice(0, 16)}… is to be repacked, but neither our copy nor any host could supply it: nothing of it is pruned`);
    // The span from the first moving chunk to the end of the last in one read (entries come in
    // offset order; at most a shard's size): one call instead of one per chunk.
    const start = moving[0]!.offset;
    const span = Buffer.alloc(moving[moving.length - 1]!.offset + moving[moving.length - 1]!.length - start);
    const handle = await fs.open(file, 'r');
    try {
      const { bytesRead } = await handle.read(span, 0, span.length, start);
      if (bytesRead !== span.length) throw new Error(`shard ${toHex(hash).slice(0, 16)}… is shorter than its index says`);
    } finally {
      await handle.close();
    }
    for (const e of moving) {
      writer ??= new ShardWriter(deps.outbox);
      await writer.add(e.chunk, span.subarray(e.offset - start, e.offset - start + e.length));
      if (writer.size >= deps.shardSize) await close();
    }
  }
  return { placed: made, open: writer };
}

/** Cancels every live owner contract whose shard the index does not know (hosts delete it). */
async function cancelOrphans(deps: PruneDeps, opts: PruneOptions): Promise<number> {
  const orphans = deps.contracts.live().filter((c) => !deps.index.shard(keptShard(c.contract.terms)));
  if (orphans.length === 0) return 0;
  await deps.contracts.cancel(orphans[0]!);
  opts.onStep?.('cancelled-one');
  // The rest recorded in one commit, then CANCEL_AT_ONCE notices at a time: each is a round
  // trip to its host (best effort), and one after another they were most of a prune's time.
  await deps.contracts.cancelMany(orphans.slice(1), CANCEL_AT_ONCE, () => opts.onStep?.('cancels-sent'));
  return orphans.length;
}
