/**
 * The backup engine's settings and tuning numbers, each written once, with its unit and the
 * reason for its value. The peer passes only what it overrides (src/peer/wiring.ts createBackupEngine).
 */
import { DEFAULTS as SNAPSHOT_DEFAULTS } from '../snapshot/constants.js';
import { type ChunkSizes, DEFAULT_CHUNK_SIZES } from './chunker.js';

export interface BackupEngineOptions {
  /** Target shard size (default 16 MiB). */
  shardSize: number;
  chunkSizes: ChunkSizes;
  /** How long a host may stay unreachable before its contract is cancelled (default 24 h). */
  hostGraceMs: number;
  /**
   * A contract this close to its end no longer counts as a replica, so a fresh one is placed
   * before it lapses (default: a tenth of the contract's length).
   */
  renewBeforeFraction?: number;
  /** Full shards placed in the background at once while the next one fills (default 2; 1 = one at a time). */
  placingAtOnce?: number;
  /** Catalog segments in a chain before a backup writes it compacted (default 32, see src/snapshot/constants.ts). */
  compactAfterSegments?: number;
  /** Largest index piece (bytes) prune's rewrite writes (default 4 MiB, see src/snapshot/constants.ts; tests make it small). */
  indexPieceBytes?: number;
}

export const DEFAULT_ENGINE_OPTIONS: Required<BackupEngineOptions> = {
  // bytes: large enough that contracts, audits and catalog entries stay few against the data,
  // small enough that a repair moves little at a time.
  shardSize: 16 * 2 ** 20,
  chunkSizes: DEFAULT_CHUNK_SIZES,
  // ms: a host that reboots or loses its line for a while costs nothing; one gone a day is gone.
  hostGraceMs: 24 * 3600_000,
  // fraction of a contract's length: leaves time for several repair passes before it lapses.
  renewBeforeFraction: 0.1,
  // shards: one uploading while another negotiates keeps the line busy; each is a file on disk,
  // so memory stays flat whatever the value.
  placingAtOnce: 2,
  // segments: a new machine fetches at most this many to read the catalog; see src/snapshot/constants.ts.
  compactAfterSegments: SNAPSHOT_DEFAULTS.compactAfterSegments,
  indexPieceBytes: SNAPSHOT_DEFAULTS.indexPieceBytes,
};

/** bytes: the backup's one read buffer (one buffer reused: fresh ones fragment malloc's arenas). */
export const READ_BYTES = 1024 * 1024;
/**
 * bytes: files up to this size are read with synchronous calls (src/backup/file-saver.ts): the
 * chunker's minimum chunk, so such a file is one chunk and one read. Larger files keep the
 * thread pool, where the event loop does not wait for their reads.
 */
export const SYNC_READ_BYTES = 256 * 1024;
/**
 * bytes: chunks up to this size are sealed (backup) and opened (restore) on the main thread, not
 * on the crypto worker: for a chunk of a few KiB a message each way costs the main thread more
 * than the work (a small file's chunk is the file). 16 KiB: Brotli and AES-GCM of that take
 * tens of microseconds, while the worker keeps every larger chunk's per-byte work.
 */
export const INLINE_CRYPTO_BYTES = 16 * 1024;
/** bytes: restored files up to this size are written with synchronous calls (small-file-out.ts); the same bound, for the same reason. */
export const SYNC_WRITE_BYTES = SYNC_READ_BYTES;
/** chunks: sealed on the worker while the main thread reads and chunks the next. */
export const SEALING_AHEAD = 2;
/** chunks: a restored file has this many being read and opened ahead of the one it writes (3: 1.9 s for a 1 GiB file, 2: 2.7 s). */
export const OPENING_AHEAD = 3;
/** slots: chunk slots of the restore's crypto worker, shared by the files restored at once. */
export const OPENING_SLOTS = 4;
/** slots: for small files' chunks, at most this many... */
export const SMALL_OPENING_SLOTS = 16;
/** bytes: ...and no more than fit this many bytes, but at least one per small file restored at once. */
export const SMALL_SLOTS_BYTES = 12 * 1024 * 1024;
/** shards: a restore downloads this many at once, ahead of the files that need them. */
export const RESTORE_DOWNLOADS = 3;
/** files: shard files a restore keeps open while it reads chunks out of them (one open per shard, not per chunk); well under any descriptor limit. */
export const RESTORE_OPEN_SHARDS = 64;
/** files: small files a restore writes at once (large ones go one at a time beside them). */
export const RESTORE_FILES = 8;
/** bytes: files at least this large are restored one at a time, with direct I/O and an fsync each. */
export const LARGE_FILE = 1024 * 1024;
/**
 * files: small restored files synced and renamed together (durable-renames.ts), at most this
 * many... Each batch costs one `sync -f` process (~12 ms of the owner's CPU to spawn it here,
 * ~90 ms of wall time): 512 a batch made that 200 spawns for 100,000 files.
 */
export const DURABLE_BATCH_FILES = 4096;
/** bytes: ...or this many. */
export const DURABLE_BATCH_BYTES = 128 * 1024 * 1024;
/**
 * ms: a piece request still running after this counts as slow even when no other request of its
 * shard gives a pace to compare with (every host silent); otherwise src/erasure/hedge.ts judges
 * it against the others sooner. 10 s: far past a 4 MiB piece on any line that can restore at all.
 */
export const PIECE_SLOW_AFTER_MS = 10_000;
/**
 * 1 MiB hash slots each piece download keeps in flight (a whole-shard download keeps 4). K pieces
 * of each of RESTORE_DOWNLOADS shards stream at once: with 2 each, 2/4 holds as many slots as
 * whole-copy downloads do (12), which the hasher's pool of spare slots mostly covers; 4 each
 * allocated and dropped fresh shared memory for every other piece.
 */
export const PIECE_HASH_SLOTS = 2;
/**
 * How the engine has the erasure worker write piece files and decoded shards: not fsynced. They
 * are temporary (pieces live until their upload, a decoded shard until the restore read it; a
 * crash loses nothing the network does not still hold), and an fsync each cost a 64 MiB 2/4
 * backup about a third of its time here (docs/benchmarks.md, erasure-backup).
 */
export const TEMPORARY = { durable: false } as const;
/** shards: re-replicated at once by a maintenance pass (each placement mostly waits on the network). */
export const REPAIRS_AT_ONCE = 3;
/** files: read at once by a backup, one read buffer each: the tree builder's own default (src/snapshot/constants.ts says why 2). */
export const FILE_CONCURRENCY = SNAPSHOT_DEFAULTS.fileConcurrency;
/**
 * backups: a watched folder is backed up from the watcher's changed paths, and walked in full
 * (files cache only) every this many backups, to catch what events missed (an in-place edit
 * whose event was dropped). With a 10 s quiet period and steady edits that is about hourly.
 */
export const WATCH_FULL_WALK_EVERY = 24;
/** paths: a watcher remembers at most this many changed paths; past it the next backup walks everything (cheap next to listing that many). */
export const WATCH_MAX_PATHS = 10_000;

/**
 * Prune's contract cancellations in flight at once: each is a signed notice to its host,
 * answered or timed out; one after another they were most of a prune's time (bench:retention,
 * 1.9 s → 1.1 s with 126 of them). 8: a few per host of a small network, not a flood.
 */
export const CANCEL_AT_ONCE = 8;

/**
 * ms after which prune stops asking hosts to cancel a contract it knows only by ID (a recovered
 * head shard's, unrecorded-contracts.ts): two of the default month-long contracts, so it has
 * lapsed on the host by then, and a host that purged it answers nothing.
 */
export const UNRECORDED_GIVE_UP_MS = 60 * 86_400_000;

/**
 * ms a prune waits, before removing shards, for browsing walks (ls, diff, find) that began
 * before it to end (browse-gate.ts). A listing streamed to a terminal or a pipe ends in seconds;
 * a walk still open after a minute is most likely an iterator its caller dropped.
 */
export const BROWSE_DRAIN_MS = 60_000;
