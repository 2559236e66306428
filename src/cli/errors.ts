/**
 * What the command line tells a person when something goes wrong: one readable line and an exit
 * code a script can test. Stack traces only with `--debug`.
 */

import { DataDirInUseError } from '../util/dir-lock.js';
import { UiError } from '../ui/errors.js';
import { SnapshotBrowseError } from '../backup/browse-errors.js';

/** Exit codes of `dbs` (documented in the README). */
export const ExitCode = {
  ok: 0,
  /** Anything unexpected (a bug, a disk error): the message says what. */
  failure: 1,
  /** Bad usage: unknown option, bad size syntax, missing argument. */
  usage: 2,
  /** No peer is running for this data directory (or one already is, for `dbs start`). */
  noPeer: 3,
  /** The thing asked for does not exist: unknown snapshot, path not in the snapshot, missing source. */
  notFound: 4,
  /** The backup is stored on fewer hosts than asked, or on none (the message says why). */
  shortfall: 5,
  /** The restore could not recover every file (the incomplete files are listed). */
  incomplete: 6,
  /** The destination of a restore is not empty. */
  destinationNotEmpty: 7,
  /** Accepted but not built yet (removing forgotten snapshots, prune, storing tags): the message says what waits for what. */
  notSupported: 8,
  /** A disk is full: the restore's destination (checked before it starts, or filled during it), or the owner's data directory during a backup. */
  diskFull: 9,
  /** The data directory cannot be used: read-only, vanished, not writable, or a damaged database (the message says the way back). */
  dataDir: 10,
} as const;

/** Typed library errors by `code` (RetentionError, ExcludeError): matched by code, so this file imports neither. */
const EXIT_BY_CODE: Record<string, ExitCodeValue> = {
  BAD_POLICY: ExitCode.usage,
  EMPTY_POLICY: ExitCode.usage,
  IDS_AND_POLICY: ExitCode.usage,
  WOULD_REMOVE_ALL: ExitCode.failure,
  NOT_SUPPORTED_YET: ExitCode.notSupported,
  UNKNOWN_SNAPSHOT: ExitCode.notFound,
  PRUNE_INCOMPLETE_INDEX: ExitCode.failure,
  BAD_EXCLUDE: ExitCode.usage,
  EXCLUDE_FILE_UNREADABLE: ExitCode.notFound,
};

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error meant for the person at the terminal: `message` is the whole story. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: ExitCodeValue = ExitCode.failure) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * Maps errors the library throws to an exit code, by what their message says (the library's
 * messages are part of its interface: tests pin them).
 */
export function classify(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof DataDirInUseError) return new CliError(err.message, ExitCode.noPeer);
  if ((err as { code?: unknown } | null)?.code === 'DATA_DIR_UNUSABLE') return new CliError((err as Error).message, ExitCode.dataDir);
  if (err instanceof UiError && err.code === 'REMOTE_NOT_ALLOWED') return new CliError(err.message, ExitCode.usage);
  if (err instanceof SnapshotBrowseError && err.code === 'NOT_A_FOLDER') return new CliError(err.message, ExitCode.usage);
  if ((err as { code?: unknown } | null)?.code === 'DISK_FULL' || (err as NodeJS.ErrnoException | null)?.code === 'ENOSPC') {
    return new CliError(err instanceof Error ? err.message : String(err), ExitCode.diskFull);
  }
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && Object.hasOwn(EXIT_BY_CODE, code) && /^(Retention|Exclude)Error$/.test((err as Error).name)) return new CliError(message, EXIT_BY_CODE[code]);
  if (/^unknown snapshot|^no path ".*" in snapshot|ENOENT: no such file or directory/.test(message)) return new CliError(message.replace(/^ENOENT: /, ''), ExitCode.notFound);
  if (/is not empty/.test(message)) return new CliError(message, ExitCode.destinationNotEmpty);
  if (err instanceof RangeError) return new CliError(message, ExitCode.usage);
  return new CliError(message, ExitCode.failure);
}
