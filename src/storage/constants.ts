/** Defaults of the host's storage (src/storage), with their units and reasons. */

/**
 * How much of the data directory's file system a host never promises away (bytes).
 * `--storage` is what the user would like to offer; the disk decides what can be kept.
 */
export const DISK_DEFAULTS = {
  /**
   * Bytes always left free: room for SQLite's WAL and journal, the shards' `.tree` files
   * (1/2048 of a shard), logs, and whatever else the machine writes. 32 MiB covers a busy
   * WAL on a small disk; the fraction below takes over on large ones.
   */
  reserveBytes: 32 * 2 ** 20,
  /** Fraction of the file system's size always left free (1%: the ext4 root reserve is 5%, we add to it). */
  reserveFraction: 0.01,
  /**
   * A free-space sample older than this (ms) is refreshed when next read. HELLOs and proposals
   * read it synchronously; one statfs per 5 s costs nothing and follows other writers closely.
   */
  sampleMaxAgeMs: 5_000,
} as const;

export interface DiskOptions {
  reserveBytes: number;
  reserveFraction: number;
  sampleMaxAgeMs: number;
}
