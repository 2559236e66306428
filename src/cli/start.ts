/**
 * The action of `dbs start`: checks the options only it has, runs the daemon until a signal
 * stops it. A module of its own so that main.ts loads the peer (and with it the whole library)
 * only when this command runs: the other commands are a control-socket request each.
 */
import { parseScheme } from '../erasure/layout.js';
import type { KeepFlags } from '../retention/flags.js';
import { AlreadyRunningError } from '../control/server.js';
import { parseRecoveryKey } from '../identity/recovery-key.js';
import { startDaemon } from './daemon.js';
import { CliError, ExitCode } from './errors.js';
import { parseFriends } from '../peer/friends.js';

export interface StartOptions {
  dataDir: string;
  host: string;
  /** `--no-map-port` makes this false: leave the router alone. */
  mapPort: boolean;
  port: number;
  storage: number;
  bootstrap?: string[];
  /** `--friend KEY...`: peers to keep our shards first (found by key, punched to behind a NAT). */
  friend?: string[];
  tracker?: string;
  recover?: string;
  watch?: string[];
  quiet: number;
  replicas: number;
  /** `--erasure K/N` for the watched folders (checked by commander: schemeText). */
  erasure?: string;
  /** `--keep-*` for the watched folders (see src/cli/auto-retention.ts). */
  keep?: KeepFlags;
  /** `--ui`: serve the web page there. */
  ui?: { host: string; port: number; allowRemote: boolean };
  /** `--tuning`: library settings as JSON text (tests and the demo). */
  tuning?: string;
}

/** Resolves when the peer has stopped (after SIGINT or SIGTERM, or `dbs stop`). */
export async function runStart(opts: StartOptions, out: (line: string) => void): Promise<void> {
  if (opts.recover) {
    try {
      parseRecoveryKey(opts.recover);
    } catch (err) {
      throw new CliError(`--recover: ${(err as Error).message}`, ExitCode.usage);
    }
  }
  try {
    parseFriends(opts.friend ?? []);
  } catch (err) {
    throw new CliError(`--friend: ${(err as Error).message}`, ExitCode.usage);
  }
  let tuning: object | undefined;
  if (opts.tuning) {
    try {
      tuning = JSON.parse(opts.tuning) as object;
    } catch {
      throw new CliError('--tuning must be JSON', ExitCode.usage);
    }
  }
  let daemon;
  try {
    daemon = await startDaemon({
      dataDir: opts.dataDir,
      host: opts.host,
      mapPort: opts.mapPort,
      port: opts.port,
      storage: opts.storage,
      bootstrap: opts.bootstrap ?? [],
      ...(opts.friend?.length ? { friends: opts.friend } : {}),
      ...(opts.tracker ? { tracker: opts.tracker } : {}),
      ...(opts.recover ? { recoveryKey: opts.recover } : {}),
      watch: opts.watch ?? [],
      quietMs: opts.quiet,
      replicas: opts.replicas,
      ...(opts.erasure ? { erasure: parseScheme(opts.erasure) } : {}),
      ...(opts.keep ? { keep: opts.keep } : {}),
      ...(tuning ? { tuning } : {}),
      ...(opts.ui ? { ui: opts.ui } : {}),
      print: out,
    });
  } catch (err) {
    if (err instanceof AlreadyRunningError) throw new CliError(err.message, ExitCode.noPeer);
    throw err;
  }
  let signals = 0;
  const onSignal = (signal: string) => {
    if (++signals > 1) process.exit(1);
    out(`${signal} received`);
    void daemon.stop();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  await daemon.done;
}
