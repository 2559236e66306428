/**
 * Errors of the retention rules that callers branch on (the CLI maps `code` to an exit code).
 */
export type RetentionErrorCode =
  /** A `--keep-*` value or duration that is not one (negative count, `3x`). */
  | 'BAD_POLICY'
  /** No rule given and no snapshot named: forgetting would remove everything (restic refuses too). */
  | 'EMPTY_POLICY'
  /** The rules keep nothing of a group: refused, as restic does, so a typo cannot empty a backup. */
  | 'WOULD_REMOVE_ALL'
  /** Snapshot IDs and `--keep-*` rules given together (restic silently ignores the rules). */
  | 'IDS_AND_POLICY'
  /** A feature not built yet (said rather than silently ignored). */
  | 'NOT_SUPPORTED_YET'
  /** A named snapshot the catalog does not list. */
  | 'UNKNOWN_SNAPSHOT'
  /** Prune found a chunk a kept snapshot needs in no shard: it removes nothing until that is understood. */
  | 'PRUNE_INCOMPLETE_INDEX';

export class RetentionError extends Error {
  constructor(readonly code: RetentionErrorCode, message: string) {
    super(message);
    this.name = 'RetentionError';
  }
}
