/**
 * How a watched folder is backed up: whole copies on R hosts, or coded K of N (`--erasure`,
 * which replaces `--replicas`), as `dbs backup` does. `dbs start --watch` sets the peer's
 * default for its watched folders; `dbs watch --replicas/--erasure` chooses per folder.
 */
import { type ErasureScheme, parseScheme } from '../erasure/layout.js';
import { CliError, ExitCode } from './errors.js';

export interface WatchScheme {
  replicas: number;
  /** Set: each shard coded K of N instead of copied (replicas then unused). */
  erasure?: ErasureScheme;
}

/**
 * The scheme a `POST /watch` body names (`replicas`, `erasure` as "K/N"), over `fallback` for what it
 * leaves out; a bad value is a usage error. Naming replicas alone means whole copies.
 */
export function watchSchemeOf(body: { replicas?: unknown; erasure?: unknown }, fallback: WatchScheme): WatchScheme {
  const replicas = body.replicas === undefined ? fallback.replicas : Number(body.replicas);
  if (!Number.isInteger(replicas) || replicas < 1) throw new CliError('--replicas must be a whole number of at least 1', ExitCode.usage);
  if (body.erasure === undefined) return body.replicas === undefined && fallback.erasure ? { replicas, erasure: fallback.erasure } : { replicas };
  try {
    return { replicas, erasure: parseScheme(String(body.erasure)) };
  } catch (err) {
    throw new CliError(`--erasure: ${(err as Error).message}`, ExitCode.usage);
  }
}

/** What the backup of a watched folder is asked for (peer.backup's options). */
export function backupSchemeOptions(scheme: WatchScheme): { replicas: number; erasure?: ErasureScheme } {
  return scheme.erasure ? { replicas: scheme.replicas, erasure: scheme.erasure } : { replicas: scheme.replicas };
}

/** "erasure 2/4" or "replicas 3", for logs, `dbs watch` and GET /watches. */
export function describeScheme(scheme: WatchScheme): string {
  return scheme.erasure ? `erasure ${scheme.erasure.k}/${scheme.erasure.n}` : `replicas ${scheme.replicas}`;
}
