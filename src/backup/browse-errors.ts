/** Errors of snapshot browsing (a leaf module: the CLI's error mapping imports it without loading the engine). */

/** Why a folder of a snapshot cannot be listed; messages match what `dbs` maps to exit codes (cli/errors.ts). */
export class SnapshotBrowseError extends Error {
  constructor(
    readonly code: 'UNKNOWN_SNAPSHOT' | 'NO_PATH' | 'NOT_A_FOLDER' | 'UNAVAILABLE',
    message: string,
  ) {
    super(message);
    this.name = 'SnapshotBrowseError';
  }
}
