/** Prune's defaults, each with its unit and reason. */
export const PRUNE_DEFAULTS = {
  /**
   * Unused bytes allowed to stay on hosts, percent of all stored bytes (`--max-unused`).
   * restic's default too: below it, repacking costs more transfer than the space it frees.
   */
  maxUnusedPercent: 5,
  /**
   * A shard smaller than this (bytes) is a "small" leftover (each backup ends with one
   * part-filled shard): half the 16 MiB target (src/backup/constants.ts), so two of them fill
   * one full shard. Small shards are repacked together once there are at least two.
   */
  smallShardBytes: 8 * 2 ** 20,
} as const;
