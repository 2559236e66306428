/**
 * `dbs ls`, `dbs diff`, `dbs find`, `dbs stats`: look inside snapshots without restoring them.
 * Listings arrive from the peer in batches (browse-routes.ts) and are printed as they come;
 * `--json` prints one JSON object a line for those (stats: one object).
 */
import type { Command } from 'commander';
import type { FoundEntry, SnapshotChange, SnapshotStats } from '../backup/engine.js';
import type { SnapshotEntryInfo } from '../backup/snapshot-browse.js';
import { table } from './render.js';
import { formatBytes } from './units.js';

export interface BrowseCommandDeps {
  withCommon: (cmd: Command) => Command;
  ask: <T>(opts: object, method: 'GET' | 'POST', route: string, body?: unknown, onProgress?: (p: unknown) => void) => Promise<T>;
  print: (opts: { json?: boolean }, value: unknown, human: () => string) => void;
  out: (text: string) => void;
}

/** Sends a streaming request and prints each item with `line` (or as JSON). */
async function streamed<T>(deps: BrowseCommandDeps, opts: { json?: boolean }, route: string, body: unknown, line: (item: T) => string): Promise<number> {
  const { count } = await deps.ask<{ count: number }>(opts, 'POST', route, body, (p) => {
    for (const item of (p as { items: T[] }).items) deps.out(opts.json ? JSON.stringify(item) : line(item));
  });
  return count;
}

const TYPE_CHAR: Record<string, string> = { dir: 'd', file: '-', symlink: 'l' };

/** `ls -l` style: type and permissions, size, local time, path (→ target). */
export function longLine(e: SnapshotEntryInfo): string {
  const perms = [6, 3, 0].map((s) => ((e.mode >> s) & 4 ? 'r' : '-') + ((e.mode >> s) & 2 ? 'w' : '-') + ((e.mode >> s) & 1 ? 'x' : '-')).join('');
  const d = new Date(e.mtimeMs);
  const p = (n: number) => String(n).padStart(2, '0');
  const when = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
  return `${TYPE_CHAR[e.type] ?? '?'}${perms} ${String(e.size).padStart(12)} ${when} ${e.path}${e.target !== undefined ? ` -> ${e.target}` : ''}`;
}

const KIND_CHAR: Record<string, string> = { added: '+', removed: '-', changed: 'M', 'type-changed': 'T' };

export function diffLine(c: SnapshotChange): string {
  const sizes = c.kind === 'added' ? formatBytes(c.sizeAfter ?? 0) : c.kind === 'removed' ? formatBytes(c.sizeBefore ?? 0) : c.sizeBefore !== undefined && c.sizeAfter !== undefined ? `${formatBytes(c.sizeBefore)} -> ${formatBytes(c.sizeAfter)}` : '';
  const what = c.kind === 'changed' && c.what === 'metadata' ? ' (metadata)' : '';
  return `${KIND_CHAR[c.kind]}  ${c.path}${c.type === 'dir' ? '/' : ''}${what}${c.type === 'file' && sizes ? `  ${sizes}` : ''}`;
}

export function renderStats(s: SnapshotStats): string {
  const lines = [
    `snapshots: ${s.snapshots.length}, ${formatBytes(s.sourceBytes)} of files in all`,
    `stored once (after deduplication and compression): ${formatBytes(s.storedBytes)} in ${s.blobs} chunks and blobs, ${s.shards} shard(s) of ${formatBytes(s.shardBytes)}`,
    `held on hosts (every replica): ${formatBytes(s.hostBytes)} under ${s.contracts} contract(s)`,
  ];
  // UNIQUE: stored bytes only that snapshot needs, what forgetting it alone would free.
  if (s.snapshots.length) lines.push('', table(['ID', 'SOURCE', 'FILES', 'SIZE', 'UNIQUE'], s.snapshots.map((x) => [x.id, x.source, x.files, formatBytes(x.bytes), x.uniqueBytes === undefined ? '-' : formatBytes(x.uniqueBytes)])));
  return lines.join('\n');
}

export function addBrowseCommands(program: Command, deps: BrowseCommandDeps): void {
  deps.withCommon(program.command('ls <snapshot> [path]'))
    .description('list a folder of a snapshot (ID, unique prefix or "latest") without restoring it')
    .option('--long', 'type, permissions, size and time of each entry')
    .option('--recursive', 'everything below the folder')
    .action(async (snapshot: string, dir: string | undefined, opts: { long?: boolean; recursive?: boolean; json?: boolean }) => {
      await streamed<SnapshotEntryInfo>(deps, opts, '/ls-tree', { snapshot, path: dir ?? '', recursive: opts.recursive === true }, (e) => (opts.long ? longLine(e) : `${e.path}${e.type === 'dir' ? '/' : ''}`));
    });

  deps.withCommon(program.command('diff <a> <b>'))
    .description('what changed from snapshot a to snapshot b: + added, - removed, M modified (content or metadata), T type changed')
    .action(async (a: string, b: string, opts: { json?: boolean }) => {
      const n = await streamed<SnapshotChange>(deps, opts, '/diff', { a, b }, diffLine);
      if (!opts.json && n === 0) deps.out('no differences');
    });

  deps.withCommon(program.command('find <pattern>'))
    .description('find files and folders by a gitignore-style pattern (*.pdf anywhere, docs/*.txt from the top) in every snapshot')
    .option('--snapshot <id>', 'only in this snapshot')
    .action(async (pattern: string, opts: { snapshot?: string; json?: boolean }) => {
      const n = await streamed<FoundEntry>(deps, opts, '/find', { pattern, ...(opts.snapshot ? { snapshot: opts.snapshot } : {}) }, (e) => `${e.snapshot}  ${e.path}${e.type === 'dir' ? '/' : ''}  ${e.type === 'file' ? formatBytes(e.size) : ''}`.trimEnd());
      if (!opts.json && n === 0) deps.out('nothing found');
    });

  deps.withCommon(program.command('stats'))
    .description('source bytes, bytes stored after deduplication and compression, bytes held on hosts (all replicas), per snapshot with the bytes only it needs (what forgetting it alone would free)')
    .action(async (opts: { json?: boolean }) => {
      const s = await deps.ask<SnapshotStats>(opts, 'GET', '/stats');
      deps.print(opts, s, () => renderStats(s));
    });
}
