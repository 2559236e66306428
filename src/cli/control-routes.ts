/**
 * What the running peer answers on its control socket, route by route (`'POST /backup'` →
 * handler). The daemon serves these on control.sock; the web page (src/ui) calls the same
 * handlers, so both answer alike and check their input alike. Embedders build them from a
 * Peer with `controlRoutes(peer, { dataDir })`.
 */
import { parseScheme } from '../erasure/layout.js';
import { type BrowsePeer, browseRoutes } from './browse-routes.js';
import { readFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Peer } from '../peer/peer.js';
import { formatAddress } from '../net/address.js';
import { fromHex, toHex } from '../util/bytes.js';
import type { BackupProgress, RestoreProgress, SnapshotInfo } from '../backup/engine.js';
import type { ControlHandler } from '../control/protocol.js';
import type { EventFeed } from '../control/event-feed.js';
import { type KeepFlags, policyFromFlags } from '../retention/flags.js';
import { CLI_DEFAULTS } from './defaults.js';
import { CliError, ExitCode } from './errors.js';
import type { PeerLog } from './log.js';
import { formatBytes, formatDuration } from './units.js';
import { type WatchScheme, watchSchemeOf } from './watch-scheme.js';

/** The Peer methods the routes use (a narrow port: tests and embedders may hand in less than a Peer). */
export type ControlPeer = Pick<Peer, 'status' | 'peers' | 'contracts' | 'ledger' | 'snapshots' | 'findPeer' | 'backup' | 'restore' | 'check' | 'snapshotEntries' | 'shardHealth' | 'auditRecords' | 'forget' | 'prune'> & BrowsePeer & {
  dht: Pick<Peer['dht'], 'lookup'>;
};

export type Watch = (dir: string, quietMs: number, keep?: KeepFlags, scheme?: WatchScheme) => Promise<{ watching: string; already: boolean }>;

/** A watched folder and its last backup (ms since the epoch; null before the first). */
export interface WatchInfo {
  path: string;
  quietMs: number;
  /** How it is backed up: "replicas 3", "erasure 2/4". */
  scheme?: string;
  lastRunAt: number | null;
  lastSnapshot: string | null;
  lastError: string | null;
}

export interface ControlContext {
  dataDir: string;
  /** Replicas when a backup request names none (default CLI_DEFAULTS.replicas). */
  replicas?: number;
  /** How `POST /watch` backs a folder up when the request names neither replicas nor erasure. */
  watchScheme?: WatchScheme;
  /** Quiet time of `POST /watch` when the request names none, ms. */
  quietMs?: number;
  /** Where events go (dbs.log and the terminal); nothing by default. */
  log?: PeerLog;
  /** Recent events for `GET /events`; without it the route answers an empty list. */
  feed?: EventFeed;
  /** `POST /watch` is served only with this. */
  watch?: Watch;
  /** The watched folders, for `GET /watches` (an empty list without it). */
  watches?: () => WatchInfo[];
  /** `POST /stop` is served only with this. */
  requestStop?: () => void;
}

/** This package's version (package.json, two folders above dist/src/cli and src/cli). */
export const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

const NO_LOG: PeerLog = { info() {}, warn() {}, close() {} };

/** Accepts a full snapshot ID, a unique prefix of one, or `latest`. */
export function resolveSnapshot(snapshots: SnapshotInfo[], wanted: string): SnapshotInfo {
  if (wanted === 'latest') {
    if (snapshots.length === 0) throw new CliError('there are no snapshots yet', ExitCode.notFound);
    return snapshots[0]!;
  }
  const matches = snapshots.filter((s) => s.id.toLowerCase().startsWith(wanted.toLowerCase()));
  if (matches.length === 0 || wanted.length < 4) throw new CliError(`unknown snapshot ${wanted} (\`dbs snapshots\` lists them)`, ExitCode.notFound);
  if (matches.length > 1) throw new CliError(`snapshot prefix ${wanted} is ambiguous (${matches.length} match); give more of the ID`, ExitCode.usage);
  return matches[0]!;
}

/** Throttles progress lines to a few a second; the last state is always sent. */
function throttled<T>(report: (p: unknown) => void, intervalMs: number = CLI_DEFAULTS.progressIntervalMs): { send: (p: T) => void; flush: () => void } {
  let last = 0;
  let pending: T | null = null;
  return {
    send(p) {
      const now = Date.now();
      if (now - last >= intervalMs) {
        last = now;
        pending = null;
        report(p);
      } else pending = p;
    },
    flush() {
      if (pending) report(pending);
      pending = null;
    },
  };
}

function str(body: Record<string, unknown>, key: string, required = true): string | undefined {
  const v = body[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw new CliError(`missing ${key}`, ExitCode.usage);
  return v;
}

/** An optional list of non-empty strings in a request body. */
function strList(body: Record<string, unknown>, key: string): string[] | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.length === 0)) throw new CliError(`${key} must be a list of non-empty strings`, ExitCode.usage);
  return v as string[];
}

function count(body: Record<string, unknown>, key: string, fallback: number): number {
  const v = body[key] === undefined ? fallback : Number(body[key]);
  if (!Number.isSafeInteger(v) || v < 0) throw new CliError(`${key} must be a whole number of 0 or more`, ExitCode.usage);
  return v;
}

/** `maxUnused` of a forget or prune request: a percentage from 0 to below 100. */
function maxUnused(body: Record<string, unknown>): { maxUnusedPercent?: number } {
  if (body.maxUnused === undefined) return {};
  const v = Number(body.maxUnused);
  if (!(v >= 0 && v < 100)) throw new CliError('--max-unused takes a percentage from 0 to below 100', ExitCode.usage);
  return { maxUnusedPercent: v };
}

/** Entries a `POST /ls` answers when the request names no limit (a screenful). */
export const LS_DEFAULT_LIMIT = 1000;

export function controlRoutes(peer: ControlPeer, ctx: ControlContext): Record<string, ControlHandler> {
  const started = Date.now();
  const log = ctx.log ?? NO_LOG;
  const defaultReplicas = ctx.replicas ?? CLI_DEFAULTS.replicas;
  const routes: Record<string, ControlHandler> = {
    'GET /status': async () => ({ ...peer.status(), dataDir: ctx.dataDir, uptimeMs: Date.now() - started, pid: process.pid, version: VERSION }),
    'GET /peers': async () => peer.peers(),
    'GET /contracts': async () => peer.contracts(),
    'GET /ledger': async () => peer.ledger(),
    'GET /snapshots': async () => peer.snapshots(),
    'GET /shards': async () => peer.shardHealth(),
    'GET /audits': async () => peer.auditRecords(),
    'GET /events': async () => ctx.feed?.recent() ?? [],
    'GET /watches': async () => ctx.watches?.() ?? [],
    'POST /ls': async (body) => {
      const snapshot = resolveSnapshot(await peer.snapshots(), str(body, 'snapshot')!);
      const dir = typeof body.dir === 'string' ? body.dir : '';
      return peer.snapshotEntries(snapshot.id, dir, { offset: count(body, 'offset', 0), limit: count(body, 'limit', LS_DEFAULT_LIMIT) });
    },
    'POST /lookup': async (body) => {
      const id = str(body, 'id')!.toLowerCase();
      if (/^[0-9a-f]{64}$/.test(id)) {
        const record = await peer.findPeer(fromHex(id));
        if (!record) throw new CliError(`no peer record for public key ${id} in the DHT`, ExitCode.notFound);
        return { kind: 'peer', publicKey: id, ...record };
      }
      if (/^[0-9a-f]{40}$/.test(id)) {
        const report = await peer.dht.lookup(fromHex(id));
        return { kind: 'node', target: id, rounds: report.rounds, messages: report.messages, closest: report.contacts.map((c) => ({ nodeId: toHex(c.id), address: formatAddress(c) })) };
      }
      throw new CliError('an ID is a node ID (40 hex digits) or a peer\'s public key (64 hex digits)', ExitCode.usage);
    },
    'POST /backup': async (body, report) => {
      const source = path.resolve(str(body, 'path')!);
      await fs.lstat(source).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ENOTDIR') throw new CliError(`${source} does not exist`, ExitCode.notFound);
        throw err; // EACCES and the like: the person needs to see that, not "does not exist"
      });
      const replicas = body.replicas === undefined ? defaultReplicas : Number(body.replicas);
      if (!Number.isInteger(replicas) || replicas < 1) throw new CliError('--replicas must be a whole number of at least 1', ExitCode.usage);
      let erasure: { k: number; n: number } | undefined;
      try {
        erasure = body.erasure === undefined ? undefined : parseScheme(String(body.erasure));
      } catch (err) {
        throw new CliError(`--erasure: ${(err as Error).message}`, ExitCode.usage);
      }
      const t0 = Date.now();
      log.info('backup-start', { path: source, replicas, erasure }, `backing up ${source} (${erasure ? `erasure ${erasure.k}/${erasure.n}` : `replicas = ${replicas}`})`);
      const progress = throttled<BackupProgress>(report);
      const exclude = { patterns: strList(body, 'exclude'), patternFiles: strList(body, 'excludeFile')?.map((f) => path.resolve(f)), ifPresent: strList(body, 'excludeIfPresent'), oneFileSystem: body.oneFileSystem === true };
      const tags = strList(body, 'tags');
      const result = await peer.backup(source, { replicas, ...(erasure ? { erasure } : {}), exclude, force: body.force === true, ...(tags ? { tags } : {}), onProgress: (p) => progress.send(p) });
      progress.flush();
      log.info('backup-done', { path: source, ...result, ms: Date.now() - t0 },
        `snapshot ${result.id}: ${result.files} files, ${formatBytes(result.bytes)}, ${formatBytes(result.uploadedBytes)} uploaded in ${formatDuration(Date.now() - t0)}${result.shortfall ? `; ${result.shortfall} replica(s) short, retrying in the background` : ''}`);
      return result;
    },
    'POST /restore': async (body, report) => {
      const snapshot = resolveSnapshot(await peer.snapshots(), str(body, 'snapshot')!);
      const dest = path.resolve(str(body, 'dest')!);
      const only = str(body, 'path', false);
      const t0 = Date.now();
      log.info('restore-start', { snapshot: snapshot.id, dest, path: only }, `restoring snapshot ${snapshot.id} to ${dest}`);
      const progress = throttled<RestoreProgress>(report);
      const filter = { include: strList(body, 'include') ?? [], exclude: strList(body, 'exclude') ?? [] };
      const result = await peer.restore(snapshot.id, dest, { ...(only ? { path: only } : {}), ...filter, onProgress: (p) => progress.send(p) });
      progress.flush();
      log.info('restore-done', { snapshot: snapshot.id, dest, ...result, ms: Date.now() - t0 },
        `restored ${result.files} files, ${formatBytes(result.bytes)} in ${formatDuration(Date.now() - t0)}${result.incomplete.length ? `; ${result.incomplete.length} file(s) incomplete` : ''}`);
      return { snapshot: snapshot.id, dest, ...result };
    },
    'POST /forget': async (body) => {
      const named = strList(body, 'snapshots') ?? [];
      const all = named.length ? await peer.snapshots() : [];
      // Prefixes and `latest` as everywhere else; the same snapshot named twice is removed once.
      const ids = [...new Set(named.map((n) => resolveSnapshot(all, n).id))];
      const keep = typeof body.keep === 'object' && body.keep !== null ? (body.keep as KeepFlags) : {};
      return peer.forget({ ids, policy: policyFromFlags(keep), dryRun: body.dryRun === true, prune: body.prune === true, ...maxUnused(body) });
    },
    'POST /prune': async (body) => {
      const result = await peer.prune({ dryRun: body.dryRun === true, ...maxUnused(body) });
      log.info('prune-done', { dryRun: result.dryRun, removedShards: result.removedShards, cancelled: result.cancelled }, `prune: ${result.removedShards} shard(s) removed, ${result.cancelled} contract(s) cancelled`);
      return result;
    },
    'POST /check': async () => {
      const report = await peer.check();
      log.info('check-done', { ...report }, `check: audited ${report.audited} contract(s), ${report.failed} failed, ${report.cancelled} cancelled, ${report.replaced} replica(s) or piece(s) re-created (repair downloaded ${formatBytes(report.repairDownloadedBytes)}, uploaded ${formatBytes(report.repairUploadedBytes)})`);
      return report;
    },
  };
  Object.assign(routes, browseRoutes(peer, resolveSnapshot, str));
  const { watch, requestStop } = ctx;
  if (watch) {
    routes['POST /watch'] = async (body) => {
      const quietMs = body.quietMs === undefined ? (ctx.quietMs ?? CLI_DEFAULTS.quietMs) : Number(body.quietMs);
      if (!Number.isFinite(quietMs) || quietMs < 0) throw new CliError('--quiet must be a duration of 0 or more', ExitCode.usage);
      const keep = typeof body.keep === 'object' && body.keep !== null && Object.keys(body.keep).length > 0 ? (body.keep as KeepFlags) : undefined;
      const named = body.replicas !== undefined || body.erasure !== undefined;
      return watch(str(body, 'path')!, quietMs, keep, named ? watchSchemeOf(body, ctx.watchScheme ?? { replicas: defaultReplicas }) : undefined);
    };
  }
  if (requestStop) {
    routes['POST /stop'] = async () => {
      setImmediate(requestStop);
      return { stopping: true };
    };
  }
  return routes;
}
