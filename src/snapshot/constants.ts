/**
 * Defaults of the snapshot data model, each with its unit and why it has that value. Other
 * modules of src/snapshot read them from here; callers override them through options.
 */
export const DEFAULTS = {
  /**
   * Chunk IDs a file's tree entry holds inline (count). With 1 MiB average chunks that is files
   * up to ~1 GiB; 1,000 IDs are 32 KB, so a directory of large files still makes a small tree
   * blob. Past it the IDs go to chunk-list blobs and the entry holds their IDs.
   */
  inlineChunkIds: 1000,
  /**
   * Files of one directory saved at once (count). Small files are dominated by open and first
   * read; two in flight overlap that latency with the chunking and sealing of the other, and
   * more would cost seeks on a spinning disk. restic's `--read-concurrency` defaults to 2 too.
   * The pipeline's own queues bound CPU and memory.
   */
  fileConcurrency: 2,
  /**
   * Chunk IDs per chunk-list blob (count): 32,768 × 32 B = 1 MiB, the average data chunk, so a
   * list blob costs what a chunk costs to seal and place. A 4 TiB file needs 128 list blobs.
   */
  chunkListIds: 32_768,
  /**
   * Largest index-delta piece (bytes, encoded). 4 MiB is the largest data chunk: a piece is
   * sealed and placed like one, and rebuilding holds one piece at a time. ~85,000 entries.
   */
  indexPieceBytes: 4 * 1024 * 1024,
  /** Largest catalog segment (bytes, encoded); 4 MiB for the same reasons as index pieces. */
  catalogSegmentBytes: 4 * 1024 * 1024,
  /**
   * Segments appended since the last compaction before the next (count). A new machine fetches
   * one segment per backup since the base, each maybe in a shard of its own; compaction rewrites
   * the whole live catalog. 32 bounds the first to 32 fetches and runs the second about every
   * day and a half of hourly backups.
   */
  compactAfterSegments: 32,
} as const;

/** Bytes of every blob ID (chunk, tree, list, piece, segment): an HMAC-SHA-256. */
export const ID_BYTES = 32;
/** Longest entry name (UTF-16 code units): 1,024 is four times the 255 that file systems allow, room for any encoding. */
export const MAX_NAME_LENGTH = 1024;
/** Longest symlink target (characters): Linux's PATH_MAX. */
export const MAX_TARGET_LENGTH = 4096;
