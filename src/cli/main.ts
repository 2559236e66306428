#!/usr/bin/env -S node --max-semi-space-size=1
/**
 * `dbs`: the command line. `dbs start` runs a peer in the foreground; the other commands talk
 * to it over the control socket in its data directory. Errors are one line and an exit code
 * (see errors.ts); `--debug` adds the stack trace.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { IDENTITY_FILE } from '../identity/identity-file.js';
import type { BackupProgress, BackupResult, RestoreProgress, RestoreResult, SnapshotInfo } from '../backup/engine.js';
import { CliError, ExitCode, type ExitCodeValue, classify } from './errors.js';
import type { StartOptions } from './start.js';
import { CLI_DEFAULTS } from './defaults.js';
import { addForgetCommand, addKeepOptions, addPruneCommand, keepFlagsOf } from './forget.js';
import { addBrowseCommands } from './browse.js';
import { controlSocketPath, defaultDataDir } from './paths.js';
import { renderContracts, renderLedger, renderSnapshots, renderStatus, table } from './render.js';
import { formatBytes, formatDuration, parseDuration, parseSize } from './units.js';
import { UI_DEFAULTS } from '../ui/constants.js';
import { parseUiAddress } from './ui-address.js';

// Only what the client commands need is imported above: a command is one request to the
// running peer (control/client.js, imported by `ask`) and a few lines of text. The peer with
// its database and cryptography (start.ts), the tracker, the demo and the progress bar are
// imported by the commands that run them, so that `dbs status` starts in under twice the time
// node itself takes (docs/benchmarks.md, "CLI start-up"). Type-only imports cost nothing.

interface Common {
  data?: string;
  json?: boolean;
  debug?: boolean;
}

const out = (text: string) => process.stdout.write(`${text}\n`);

function withCommon(cmd: Command): Command {
  return cmd
    .option('--data <dir>', 'the peer\'s data directory (default: $DBS_DATA or ~/.local/share/dbs)')
    .option('--json', 'print the result as JSON')
    .option('--debug', 'print stack traces of errors');
}

function dataDir(opts: Common): string {
  return path.resolve(opts.data ?? defaultDataDir());
}

/** One request to the running peer of `opts.data`. */
async function ask<T>(opts: Common, method: 'GET' | 'POST', route: string, body?: unknown, onProgress?: (p: unknown) => void): Promise<T> {
  const dir = dataDir(opts);
  // node:http comes with the client: `dbs key` and `--help` do without it.
  const { controlRequest, ControlError, NoPeerError } = await import('../control/client.js');
  try {
    return await controlRequest<T>(controlSocketPath(dir), method, route, body, onProgress);
  } catch (err) {
    if (err instanceof NoPeerError) throw new CliError(`no peer is running for ${dir} (start one with: dbs start --data ${dir})`, ExitCode.noPeer);
    if (err instanceof ControlError) throw new CliError(err.message, err.exitCode as ExitCodeValue);
    throw err;
  }
}

function print(opts: Common, value: unknown, human: () => string): void {
  out(opts.json ? JSON.stringify(value, null, 2) : human());
}

function size(text: string): number {
  try {
    return parseSize(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function duration(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function uiAddress(value: string | true): { host: string; port: number } {
  try {
    return parseUiAddress(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** Commander's way to take an option more than once. */
const collect = (value: string, previous: string[] = []) => [...previous, value];

interface BackupCliOptions {
  replicas: number;
  force: boolean;
  exclude?: string[];
  excludeFile?: string[];
  excludeIfPresent?: string[];
  oneFileSystem?: boolean;
  tag?: string[];
}

function wholeNumber(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${text}" is not a whole number`);
  return n;
}

/** What the backup will read, for its progress bar (the exclude options count: tree-bytes.ts). */
async function progressTotal(abs: string, opts: BackupCliOptions): Promise<number> {
  const { treeBytes } = await import('./tree-bytes.js');
  if (!opts.exclude && !opts.excludeFile && !opts.excludeIfPresent && !opts.oneFileSystem) return treeBytes(abs);
  // A bad exclude option is reported by the backup itself, with its exit code: here it only means "count everything".
  const exclude = await import('../backup/exclude.js').then((m) => m.createExclude(abs, { patterns: opts.exclude, patternFiles: opts.excludeFile, ifPresent: opts.excludeIfPresent, oneFileSystem: opts.oneFileSystem === true })).catch(() => null);
  return treeBytes(abs, exclude);
}

export function buildProgram(): Command {
  const program = new Command('dbs')
    .description('Peer-to-peer backup: keep your files on your friends\' disks, encrypted, and theirs on yours.')
    .version('0.1.0')
    .showHelpAfterError('(run `dbs --help` for usage)')
    .exitOverride();

  addKeepOptions(withCommon(program.command('start')))
    .description('run a peer in the foreground (Ctrl-C stops it cleanly)')
    .option('--host <host>', 'the IP address other peers reach this one at', '127.0.0.1')
    .option('--port <port>', 'UDP and TCP port (0: any free port)', wholeNumber, CLI_DEFAULTS.port)
    .option('--storage <size>', 'space offered to other peers, e.g. 10GiB (0 means you cannot back up)', size, CLI_DEFAULTS.storageBytes)
    .option('--bootstrap <host:port...>', 'peers to join through')
    .option('--tracker <url>', 'an optional tracker to find bootstrap peers through')
    .option('--recover <key>', 'start with an existing recovery key (a new machine)')
    .option('--watch <dir...>', 'back up these folders whenever they change')
    .option('--quiet <duration>', 'how long a watched folder must stay unchanged before its backup', duration, CLI_DEFAULTS.quietMs)
    .option('--replicas <n>', 'replicas for watched folders', wholeNumber, CLI_DEFAULTS.replicas)
    .option('--ui [host:port]', `serve the web page (default ${UI_DEFAULTS.host}:${UI_DEFAULTS.port}; \`dbs ui\` opens it)`, uiAddress)
    .option('--ui-allow-remote', 'let --ui bind an address other than loopback (anyone who can reach it and has the token controls this peer; see docs/ui.md)')
    .addOption(new Option('--tuning <json>', 'library settings for tests and the demo').hideHelp())
    .action(async (opts: Common & Omit<StartOptions, 'dataDir' | 'ui'> & { ui?: { host: string; port: number } | true; uiAllowRemote?: boolean }) => {
      const { runStart } = await import('./start.js');
      const keep = await keepFlagsOf(opts);
      const { ui, uiAllowRemote, ...rest } = opts;
      await runStart({ ...rest, ...(keep ? { keep } : {}), dataDir: dataDir(opts), ...(ui !== undefined ? { ui: { ...(ui === true ? parseUiAddress(true) : ui), allowRemote: uiAllowRemote ?? false } } : {}) }, out);
    });

  withCommon(program.command('backup <path>'))
    .description('back up a file or folder as a new snapshot')
    .option('--replicas <n>', 'how many hosts keep each shard', wholeNumber, CLI_DEFAULTS.replicas)
    .option('--force', 'read every file again, trusting nothing of the previous snapshot (files cache off)', false)
    .option('--exclude <pattern>', 'leave out what matches (gitignore syntax, relative to the path); repeatable', collect)
    .option('--exclude-file <file>', 'read --exclude patterns from a file, one a line; repeatable', collect)
    .option('--exclude-if-present <name[:header]>', 'leave out folders holding this file (CACHEDIR.TAG: its signature is checked); repeatable', collect)
    .option('--one-file-system', 'do not cross into other file systems (mount points are kept, empty)')
    .option('--tag <tags>', 'tag the snapshot (a,b); repeatable', collect)
    .action(async (target: string, opts: Common & BackupCliOptions) => {
      const abs = path.resolve(target);
      const total = opts.json ? 0 : await progressTotal(abs, opts);
      const view = opts.json ? null : (await import('./progress.js')).progressView('backup');
      let result: BackupResult;
      try {
        const leaveOut = { exclude: opts.exclude, excludeFile: opts.excludeFile?.map((f) => path.resolve(f)), excludeIfPresent: opts.excludeIfPresent, oneFileSystem: opts.oneFileSystem === true, tags: opts.tag };
        result = await ask<BackupResult>(opts, 'POST', '/backup', { path: abs, replicas: opts.replicas, force: opts.force, ...leaveOut }, (p) => {
          const pr = p as BackupProgress;
          view?.update(pr.bytes, total, `${pr.files} files, ${formatBytes(pr.uploadedBytes)} uploaded (${pr.phase})`);
        });
      } finally {
        view?.stop();
      }
      print(opts, result, () => `snapshot ${result.id}\n${result.files} files, ${formatBytes(result.bytes)} (${result.stats.filesReused} unchanged, not read again); ${formatBytes(result.uploadedBytes)} new data in ${result.shards} shard(s), each on ${opts.replicas} host(s)`);
      if (result.shortfall > 0) {
        throw new CliError(`the backup is stored, but ${result.shortfall} replica(s) short of ${opts.replicas} per shard (too few peers accepted); the peer keeps trying in the background`, ExitCode.shortfall);
      }
    });

  withCommon(program.command('restore <snapshot> <dest>'))
    .description('restore a snapshot (ID, unique prefix or "latest") into an empty or new folder')
    .option('--path <path>', 'restore only this file or folder of the snapshot')
    .option('--include <pattern>', 'restore only what matches (gitignore syntax, paths inside the snapshot); repeatable', collect)
    .option('--exclude <pattern>', 'leave out what matches; repeatable', collect)
    .action(async (snapshot: string, dest: string, opts: Common & { path?: string; include?: string[]; exclude?: string[] }) => {
      const view = opts.json ? null : (await import('./progress.js')).progressView('restore');
      let result: RestoreResult & { snapshot: string; dest: string };
      try {
        result = await ask(opts, 'POST', '/restore', { snapshot, dest: path.resolve(dest), ...(opts.path ? { path: opts.path } : {}), include: opts.include, exclude: opts.exclude }, (p) => {
          const pr = p as RestoreProgress;
          view?.update(pr.bytes, pr.totalBytes, `${pr.files} files`);
        });
      } finally {
        view?.stop();
      }
      print(opts, result, () => `restored ${result.files} files, ${formatBytes(result.bytes)} from snapshot ${result.snapshot} into ${result.dest}`);
      if (result.incomplete.length > 0) {
        throw new CliError(`${result.incomplete.length} file(s) could not be restored (no replica could supply them): ${result.incomplete.slice(0, 5).join(', ')}${result.incomplete.length > 5 ? ', ...' : ''}`, ExitCode.incomplete);
      }
    });

  addForgetCommand(program, { withCommon, ask, print });
  addPruneCommand(program, { withCommon, ask, print });
  addBrowseCommands(program, { withCommon, ask, print, out });

  withCommon(program.command('snapshots')).description('list snapshots, newest first').action(async (opts: Common) => {
    const list = await ask<SnapshotInfo[]>(opts, 'GET', '/snapshots');
    print(opts, list, () => renderSnapshots(list));
  });

  withCommon(program.command('status')).description('what the running peer is doing').action(async (opts: Common) => {
    const status = await ask<Parameters<typeof renderStatus>[0]>(opts, 'GET', '/status');
    print(opts, status, () => renderStatus(status));
  });

  withCommon(program.command('peers')).description('the peers this one knows (its DHT routing table)').action(async (opts: Common) => {
    const list = await ask<Array<{ nodeId: string; address: string }>>(opts, 'GET', '/peers');
    print(opts, list, () => (list.length ? table(['NODE ID', 'ADDRESS'], list.map((p) => [p.nodeId, p.address])) : 'no peers known yet'));
  });

  withCommon(program.command('contracts')).description('storage contracts, as owner and as host').action(async (opts: Common) => {
    const list = await ask<Parameters<typeof renderContracts>[0]>(opts, 'GET', '/contracts');
    print(opts, list, () => renderContracts(list));
  });

  withCommon(program.command('ledger')).description('what each counterpart keeps for us and we for it').action(async (opts: Common) => {
    const list = await ask<Parameters<typeof renderLedger>[0]>(opts, 'GET', '/ledger');
    print(opts, list, () => renderLedger(list));
  });

  withCommon(program.command('check')).description('audit every host of our backups now, and repair what failed').action(async (opts: Common) => {
    const r = await ask<{ audited: number; failed: number; cancelled: number; replaced: number }>(opts, 'POST', '/check');
    print(opts, r, () => `audited ${r.audited} contract(s): ${r.failed} failed, ${r.cancelled} cancelled, ${r.replaced} replica(s) re-created`);
  });

  withCommon(program.command('key')).description('print the recovery key (works without a running peer)').action(async (opts: Common) => {
    const dir = dataDir(opts);
    let text: string;
    try {
      text = (await fs.readFile(path.join(dir, IDENTITY_FILE), 'utf8')).trim();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err; // EACCES and the like: say so, not "no identity"
      throw new CliError(`no identity in ${dir} (\`dbs start --data ${dir}\` creates one)`, ExitCode.notFound);
    }
    print(opts, { recoveryKey: text }, () => `${text}\n\nAnyone with this key can read and delete your backups; without it, nobody can restore them. Keep it offline.`);
  });

  withCommon(program.command('lookup <id>'))
    .description('find a node ID (40 hex) in the DHT, or a peer by its public key (64 hex)')
    .action(async (id: string, opts: Common) => {
      const r = await ask<Record<string, unknown>>(opts, 'POST', '/lookup', { id });
      print(opts, r, () => {
        if (r.kind === 'peer') return `peer ${String(r.publicKey)} is at ${String(r.host)}:${String(r.port)} (${r.verified ? 'answered HELLO with that key' : 'did not answer HELLO'}); offers ${formatBytes(Number(r.offered))}, ${formatBytes(Number(r.free))} free`;
        const closest = r.closest as Array<{ nodeId: string; address: string }>;
        return `${closest.length} closest nodes to ${String(r.target)} (${String(r.rounds)} rounds, ${String(r.messages)} queries):\n${table(['NODE ID', 'ADDRESS'], closest.map((c) => [c.nodeId, c.address]))}`;
      });
    });

  addKeepOptions(withCommon(program.command('watch <dir>')))
    .description('have the running peer back up a folder whenever it changes')
    .option('--quiet <duration>', 'how long the folder must stay unchanged first', duration, CLI_DEFAULTS.quietMs)
    .action(async (dir: string, opts: Common & { quiet: number }) => {
      const keep = await keepFlagsOf(opts);
      const r = await ask<{ watching: string; already: boolean }>(opts, 'POST', '/watch', { path: path.resolve(dir), quietMs: opts.quiet, ...(keep ? { keep } : {}) });
      print(opts, r, () => (r.already ? `already watching ${r.watching}` : `watching ${r.watching}: it is backed up ${formatDuration(opts.quiet)} after changes stop`));
    });

  withCommon(program.command('ui'))
    .description('print the web page\'s address with its access token, and open it in a browser')
    .option('--no-open', 'only print the address')
    .action(async (opts: Common & { open: boolean }) => {
      const { showUi } = await import('./open-browser.js');
      await showUi(opts, () => ask<{ origin: string; url: string }>(opts, 'GET', '/ui'), (r) => print(opts, r, () => r.url));
    });

  withCommon(program.command('stop')).description('stop the running peer').action(async (opts: Common) => {
    const r = await ask(opts, 'POST', '/stop');
    print(opts, r, () => 'the peer is stopping');
  });

  program
    .command('tracker')
    .description('run the optional HTTP tracker that helps peers find bootstrap contacts')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'TCP port', wholeNumber, CLI_DEFAULTS.trackerPort)
    .option('--debug', 'print stack traces of errors')
    .action(async (opts: { host: string; port: number }) => {
      const { TrackerServer } = await import('../tracker/server.js');
      const tracker = await TrackerServer.listen({ host: opts.host, port: opts.port });
      out(`tracker listening on ${tracker.url} (POST /subscribe, GET /nodes, POST /ping)`);
      await new Promise<void>((resolve) => {
        const stop = () => void tracker.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

  program
    .command('demo')
    .description('run ~8 peers as processes on 127.0.0.1: back up, kill two hosts, repair, restore, verify')
    .option('--peers <n>', 'how many peers', wholeNumber, CLI_DEFAULTS.demoPeers)
    .option('--keep', 'keep the temporary folder (logs, data) afterwards')
    .option('--debug', 'print stack traces of errors')
    .action(async (opts: { peers: number; keep?: boolean }) => {
      const { runDemo } = await import('./demo.js');
      await runDemo({ peers: opts.peers, keep: opts.keep ?? false, print: out });
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv);
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its message (or the help / version).
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
      return ExitCode.usage;
    }
    const e = classify(err);
    process.stderr.write(`dbs: ${e.message}\n`);
    if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return e.exitCode;
  }
}

// Run when executed (also through the npm bin symlink), not when imported by tests.
// A script path that cannot be resolved (deleted since, or not a file) is compared as given.
const invoked = process.argv[1] ? await fs.realpath(process.argv[1]).catch(() => process.argv[1]) : '';
if (invoked === new URL(import.meta.url).pathname) {
  process.exitCode = await main(process.argv);
}
