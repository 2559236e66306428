/**
 * The snapshot commands: `dbs backup`, `dbs restore`, `dbs snapshots` and `dbs forget`
 * (forget.ts). Backup and restore draw a progress bar (progress.ts, imported when they run).
 */
import path from 'node:path';
import type { Command } from 'commander';
import type { BackupProgress, BackupResult, RestoreProgress, RestoreResult, SnapshotInfo } from '../../backup/engine.js';
import { CLI_DEFAULTS } from '../defaults.js';
import { CliError, ExitCode } from '../errors.js';
import { addForgetCommand, addPruneCommand } from '../forget.js';
import { addBrowseCommands } from '../browse.js';
import { renderSnapshots } from '../render.js';
import { formatBytes } from '../units.js';
import { collect, schemeText, wholeNumber } from './arguments.js';
import { ask, type Common, out, print, withCommon } from './common.js';

interface BackupCliOptions {
  replicas: number;
  erasure?: string;
  force: boolean;
  exclude?: string[];
  excludeFile?: string[];
  excludeIfPresent?: string[];
  oneFileSystem?: boolean;
  tag?: string[];
}

/** What the backup will read, for its progress bar (the exclude options count: tree-bytes.ts). */
async function progressTotal(abs: string, opts: BackupCliOptions): Promise<number> {
  const { treeBytes } = await import('../tree-bytes.js');
  if (!opts.exclude && !opts.excludeFile && !opts.excludeIfPresent && !opts.oneFileSystem) return treeBytes(abs);
  // A bad exclude option is reported by the backup itself, with its exit code: here it only means "count everything".
  const exclude = await import('../../backup/exclude.js').then((m) => m.createExclude(abs, { patterns: opts.exclude, patternFiles: opts.excludeFile, ifPresent: opts.excludeIfPresent, oneFileSystem: opts.oneFileSystem === true })).catch(() => null);
  return treeBytes(abs, exclude);
}

export function addBackupCommand(program: Command): void {
  withCommon(program.command('backup <path>'))
    .description('back up a file or folder as a new snapshot')
    .option('--replicas <n>', 'how many hosts keep each shard', wholeNumber, CLI_DEFAULTS.replicas)
    .option('--erasure <K/N>', 'code each shard into N pieces on N hosts, any K of which restore it (2/4: two hosts may be lost, 2x the space); replaces --replicas', schemeText)
    .option('--force', 'read every file again, trusting nothing of the previous snapshot (files cache off)', false)
    .option('--exclude <pattern>', 'leave out what matches (gitignore syntax, relative to the path); repeatable', collect)
    .option('--exclude-file <file>', 'read --exclude patterns from a file, one a line; repeatable', collect)
    .option('--exclude-if-present <name[:header]>', 'leave out folders holding this file (CACHEDIR.TAG: its signature is checked); repeatable', collect)
    .option('--one-file-system', 'do not cross into other file systems (mount points are kept, empty)')
    .option('--tag <tags>', 'tag the snapshot (a,b); repeatable', collect)
    .action(async (target: string, opts: Common & BackupCliOptions) => {
      const abs = path.resolve(target);
      const total = opts.json ? 0 : await progressTotal(abs, opts);
      const view = opts.json ? null : (await import('../progress.js')).progressView('backup');
      let result: BackupResult;
      try {
        const leaveOut = { exclude: opts.exclude, excludeFile: opts.excludeFile?.map((f) => path.resolve(f)), excludeIfPresent: opts.excludeIfPresent, oneFileSystem: opts.oneFileSystem === true, tags: opts.tag };
        result = await ask<BackupResult>(opts, 'POST', '/backup', { path: abs, replicas: opts.replicas, ...(opts.erasure ? { erasure: opts.erasure } : {}), force: opts.force, ...leaveOut }, (p) => {
          const pr = p as BackupProgress;
          view?.update(pr.bytes, total, `${pr.files} files, ${formatBytes(pr.uploadedBytes)} uploaded (${pr.phase})`);
        });
      } finally {
        view?.stop();
      }
      const [k, n] = (opts.erasure ?? '').split('/');
      const each = opts.erasure ? `coded ${opts.erasure} (pieces on ${n} hosts, any ${k} restore it)` : `each on ${opts.replicas} host(s)`;
      print(opts, result, () => `snapshot ${result.id}\n${result.files} files, ${formatBytes(result.bytes)} (${result.stats.filesReused} unchanged, not read again); ${formatBytes(result.uploadedBytes)} new data in ${result.shards} shard(s), ${each}`);
      if (result.shortfall > 0) {
        const short = opts.erasure ? `${result.shortfall} piece(s) or copies short of ${opts.erasure}` : `${result.shortfall} replica(s) short of ${opts.replicas} per shard`;
        throw new CliError(`the backup is stored, but ${short} (too few peers accepted); the peer keeps trying in the background`, ExitCode.shortfall);
      }
    });
}

export function addRestoreCommand(program: Command): void {
  withCommon(program.command('restore <snapshot> <dest>'))
    .description('restore a snapshot (ID, unique prefix or "latest") into an empty or new folder')
    .option('--path <path>', 'restore only this file or folder of the snapshot')
    .option('--include <pattern>', 'restore only what matches (gitignore syntax, paths inside the snapshot); repeatable', collect)
    .option('--exclude <pattern>', 'leave out what matches; repeatable', collect)
    .action(async (snapshot: string, dest: string, opts: Common & { path?: string; include?: string[]; exclude?: string[] }) => {
      const view = opts.json ? null : (await import('../progress.js')).progressView('restore');
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
}

export function addSnapshotsCommand(program: Command): void {
  withCommon(program.command('snapshots')).description('list snapshots, newest first').action(async (opts: Common) => {
    const list = await ask<SnapshotInfo[]>(opts, 'GET', '/snapshots');
    print(opts, list, () => renderSnapshots(list));
  });
}

/** In the order `dbs --help` lists them. */
export function addSnapshotCommands(program: Command): void {
  addBackupCommand(program);
  addRestoreCommand(program);
  addForgetCommand(program, { withCommon, ask, print });
  addPruneCommand(program, { withCommon, ask, print });
  addSnapshotsCommand(program);
  addBrowseCommands(program, { withCommon, ask, print, out });
}
