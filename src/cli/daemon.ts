/**
 * `dbs start`: runs one peer in the foreground. It owns the peer, the control socket that the
 * other commands talk to, the log, the optional tracker subscription and folder watches, and
 * stops cleanly on SIGINT/SIGTERM (sockets closed, database closed, socket file removed).
 */
import type { ErasureScheme } from '../erasure/layout.js';
import { backupSchemeOptions, describeScheme, type WatchScheme } from './watch-scheme.js';
import { autoRetention } from './auto-retention.js';
import type { KeepFlags } from '../retention/flags.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Peer, type PeerOptions } from '../peer/peer.js';
import { formatAddress } from '../net/address.js';
import { toHex } from '../util/bytes.js';
import { NegotiationError } from '../contracts/negotiation.js';
import { every, systemClock } from '../util/clock.js';
import { FolderWatcher } from '../backup/watcher.js';
import { TrackerClient } from '../tracker/client.js';
import { ControlServer } from '../control/server.js';
import { CONTROL_SOCKET, type ControlHandler } from '../control/protocol.js';
import { EventFeed } from '../control/event-feed.js';
import { controlRoutes, type WatchInfo } from './control-routes.js';
import { startDaemonUi, type DaemonUiOptions } from './daemon-ui.js';
import { CLI_DEFAULTS } from './defaults.js';
import { CliError, ExitCode, classify } from './errors.js';
import { asDataDirError, type DataDirError } from '../peer/data-dir-errors.js';
import { dirIdentity, watchDataDir } from './data-dir-watch.js';
import { describeRefusals } from './explain.js';
import { openPeerLog, type PeerLog, teeLog } from './log.js';
import { formatBytes, formatDuration } from './units.js';

export interface DaemonOptions {
  dataDir: string;
  host: string;
  /** Map the port on the router (UPnP / NAT-PMP) when bound to every interface. */
  mapPort?: boolean;
  /** `--friend`: public keys (hex) of peers to keep our shards first, wherever they are (src/peer/friends.ts). */
  friends?: string[];
  port: number;
  storage: number;
  bootstrap: string[];
  tracker?: string;
  recoveryKey?: string;
  watch: string[];
  /** Quiet time before a watched folder is backed up. */
  quietMs: number;
  replicas: number;
  /** `--erasure K/N` for watched folders (replaces replicas; src/cli/watch-scheme.ts). */
  erasure?: ErasureScheme;
  /** `--keep-*` for the folders watched from the start: forget and prune after their backups. */
  keep?: KeepFlags;
  /** Extra library settings (timeouts, shard sizes...): the demo and tests use fast ones. */
  tuning?: Partial<PeerOptions> & { trackerPingMs?: number; dataDirCheckMs?: number; retentionPace?: { everyBackups?: number; everyMs?: number } };
  /** Serve the web page (src/ui) at this address; off without it. */
  ui?: DaemonUiOptions;
  /** Where the human lines go (the terminal). */
  print: (line: string) => void;
}

const short = (hex: string) => hex.slice(0, 8);

export { resolveSnapshot } from './control-routes.js';

/** What a failed request tells the person, and the exit code a command ends with (the web page shows the same). */
function exitCodeOf(err: unknown): { message: string; exitCode: number } {
  const e = err instanceof NegotiationError ? new CliError(`no peer accepted the backup: ${describeRefusals(err.refusals)}`, ExitCode.shortfall) : classify(err);
  return { message: e.message, exitCode: e.exitCode };
}

/** Starts the peer and resolves with a handle once it is reachable; `done` settles when it stopped. */
export async function startDaemon(options: DaemonOptions): Promise<{ peer: Peer; stop: () => Promise<void>; done: Promise<void> }> {
  // Read-only, vanished, not ours: one line and exit code 10 (src/peer/data-dir-errors.ts).
  const unusable = (err: unknown) => Promise.reject(asDataDirError(err, options.dataDir));
  await fs.mkdir(options.dataDir, { recursive: true, mode: 0o700 }).catch(unusable);
  // The directory holds the recovery key and the control socket: only its owner may enter.
  const mode = (await fs.stat(options.dataDir).catch(unusable)).mode & 0o777;
  if (mode & 0o077) await fs.chmod(options.dataDir, 0o700).catch(unusable);
  for (const dir of options.watch) {
    // Missing, unreadable or not a folder: it cannot be watched, whichever; the message names the path.
    if (!(await fs.stat(dir).catch(() => null))?.isDirectory()) throw new CliError(`cannot watch ${path.resolve(dir)}: not a folder`, ExitCode.notFound);
  }
  // The control socket is taken first: it is the lock that keeps a second peer out of this directory.
  const routes: Record<string, ControlHandler> = {};
  const control = await ControlServer.listen(path.join(options.dataDir, CONTROL_SOCKET), routes, { exitCodeOf }).catch(unusable);
  // Every event also goes to the feed the web page and `GET /events` show.
  const feed = new EventFeed();
  const log = teeLog(openPeerLog(options.dataDir, options.print), feed);
  const { trackerPingMs, dataDirCheckMs, ...tuning } = options.tuning ?? {};
  let peer: Peer;
  let tracker: TrackerClient | null = null;
  try {
    tracker = options.tracker ? new TrackerClient(options.tracker) : null;
    peer = await Peer.start({
      ...tuning,
      dataDir: options.dataDir,
      host: options.host,
      nat: { ...tuning.nat, ...(options.mapPort === false ? { mapPort: false } : {}), ...(options.friends?.length ? { friends: options.friends } : {}) },
      port: options.port,
      storage: options.storage,
      ...(options.recoveryKey ? { recoveryKey: options.recoveryKey } : {}),
      bootstrap: options.bootstrap,
    });
  } catch (err) {
    log.close();
    await control.close();
    throw err;
  }
  const address = formatAddress(peer.address);
  log.info('started', { address, publicKey: toHex(peer.publicKey), nodeId: toHex(peer.dht.id), offered: options.storage, dataDir: options.dataDir },
    `peer ${short(toHex(peer.publicKey))} listening on ${address} (UDP and TCP), offering ${formatBytes(options.storage)}; data in ${options.dataDir}`);
  if (peer.identityCreated) {
    options.print('');
    options.print('  A new identity was created. Its recovery key is the ONLY way to restore your backups');
    options.print('  if this machine is lost. Write it down and keep it somewhere safe:');
    options.print('');
    options.print(`    ${peer.recoveryKey}`);
    options.print('');
    options.print('  (`dbs key` prints it again.)');
    options.print('');
  }
  wirePeerEvents(peer, log);
  peer.dht.onAddressChange((a) => log.info('address', { address: formatAddress(a.address), source: a.source }, `others reach this peer at ${formatAddress(a.address)} (${a.source === 'mapped' ? 'mapped on the router' : 'as peers in several networks see it'})`));

  const stops: Array<() => void | Promise<void>> = [];
  // A data directory unmounted or deleted while running: stop with one line (exit 10). Read-only: see wirePeerEvents.
  let lost: DataDirError | null = null;
  const dirNow = await dirIdentity(options.dataDir);
  stops.push(watchDataDir(systemClock, options.dataDir, dirNow, dataDirCheckMs ?? CLI_DEFAULTS.dataDirCheckMs, (err) => {
    lost = err;
    log.warn('data-dir-lost', { problem: err.problem, file: err.file }, err.message);
    void stop();
  }, () => peer.shards.space.refresh()));
  if (tracker) {
    const tr = tracker;
    const join = async () => {
      await tr.subscribe(peer.dht.id, peer.address);
      const contacts = await tr.nodes(peer.dht.id);
      if (contacts.length > 0) await peer.dht.bootstrap(contacts);
      log.info('tracker', { url: tr.url, contacts: contacts.length }, `tracker ${tr.url}: ${contacts.length} contact(s)`);
    };
    await join().catch((err: Error) => log.warn('tracker-failed', { url: tr.url, error: err.message }, `tracker ${tr.url} unreachable (${err.message}); the DHT works without it`));
    let trackerDown = false;
    stops.push(every(systemClock, trackerPingMs ?? CLI_DEFAULTS.trackerPingMs, () => {
      void tr.ping(peer.dht.id, peer.address).then(
        () => { trackerDown = false; },
        (err: Error) => {
          if (!trackerDown) log.warn('tracker-failed', { url: tr.url, error: err.message }, `tracker unreachable (${err.message}); carrying on with the DHT`);
          trackerDown = true;
        },
      );
    }));
  }

  const watchers = new Map<string, FolderWatcher>();
  // What `GET /watches` (and the web page) shows of each watched folder.
  const watched = new Map<string, WatchInfo>();
  const retention = autoRetention(peer, log, options.tuning?.retentionPace);
  const defaultScheme: WatchScheme = options.erasure ? { replicas: options.replicas, erasure: options.erasure } : { replicas: options.replicas };
  const watchFolder = async (dir: string, quietMs: number, keep?: KeepFlags, scheme: WatchScheme = defaultScheme) => {
    const abs = path.resolve(dir);
    // As at start-up: whatever stat says, the folder cannot be watched, and the message says which one.
    const st = await fs.stat(abs).catch(() => null);
    if (!st?.isDirectory()) throw new CliError(`cannot watch ${abs}: not a folder`, ExitCode.notFound);
    retention.setPolicy(abs, keep); // a bad policy fails here, before anything is watched
    if (watchers.has(abs)) return { watching: abs, already: true };
    const watcher = new FolderWatcher(abs, {
      clock: systemClock,
      quietMs,
      backup: async (changedPaths) => {
        const info = watched.get(abs)!;
        info.lastRunAt = Date.now();
        try {
          const result = await peer.backup(abs, { ...backupSchemeOptions(scheme), changedPaths: changedPaths ?? undefined });
          Object.assign(info, { lastSnapshot: result.id, lastError: null });
          log.info('watch-backup', { path: abs, ...result }, `watched ${abs}: snapshot ${result.id}, ${result.files} files, ${formatBytes(result.uploadedBytes)} uploaded${result.shortfall ? `, ${result.shortfall} replica(s) short` : ''}`);
          await retention.afterBackup(Date.now());
        } catch (err) {
          info.lastError = (err as Error).message;
          log.warn('watch-backup-failed', { path: abs, error: (err as Error).message }, `backup of watched ${abs} failed: ${(err as Error).message}`);
          throw err; // the watcher walks everything next time
        }
      },
    });
    watchers.set(abs, watcher);
    watched.set(abs, { path: abs, quietMs, scheme: describeScheme(scheme), lastRunAt: null, lastSnapshot: null, lastError: null });
    watcher.poke();
    log.info('watch', { path: abs, quietMs, scheme: describeScheme(scheme) }, `watching ${abs} (backs up ${formatDuration(quietMs)} after changes stop, ${describeScheme(scheme)})`);
    return { watching: abs, already: false, scheme: describeScheme(scheme) };
  };
  stops.push(() => {
    for (const w of watchers.values()) w.close();
  });

  let resolveDone!: () => void;
  let rejectDone!: (err: unknown) => void;
  const done = new Promise<void>((resolve, reject) => ((resolveDone = resolve), (rejectDone = reject)));
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      log.info('stopping', {}, 'stopping: closing sockets and saving state');
      for (const s of stops.reverse()) await s();
      // A vanished data directory may fail the last writes; the peer stops either way.
      await peer.stop().catch((err: Error) => log.warn('stop-failed', { error: err.message }));
      // Last: the socket is the directory's lock, held until the database is closed.
      // The peer has stopped either way; a socket that will not close is still worth a line in dbs.log.
      await control.close().catch((err: Error) => log.warn('control-close-failed', { error: err.message }));
      log.info('stopped', {}, 'stopped');
      log.close();
      if (lost) rejectDone(lost);
      else resolveDone();
    })();
    return stopping;
  };

  Object.assign(routes, controlRoutes(peer, { dataDir: options.dataDir, replicas: options.replicas, watchScheme: defaultScheme, quietMs: options.quietMs, log, feed, watch: watchFolder, watches: () => [...watched.values()], requestStop: () => void stop() }));
  try {
    for (const dir of options.watch) await watchFolder(dir, options.quietMs, options.keep);
    if (options.ui) stops.push(await startDaemonUi(options.ui, { dataDir: options.dataDir, routes, feed, log, exitCodeOf }));
  } catch (err) {
    await stop();
    throw err;
  }
  return { peer, stop, done };
}

function wirePeerEvents(peer: Peer, log: PeerLog): void {
  peer.on('stored', (e) => log.info('stored', e, `stored a ${formatBytes(e.size)} shard for ${short(e.owner)} (contract ${short(e.contract)})`));
  peer.on('ended', (e) => log.info('contract-ended', e, `contract ${short(e.contract)} (${e.role === 'owner' ? 'our shard on' : 'we host for'} ${short(e.counterpart)}) ${e.state}`));
  peer.on('defaulter', (e) => log.warn('defaulter', e, `${short(e.counterpart)} stopped honouring its contracts: its shards here are dropped`));
  // One warning per full episode (storage/disk-space.ts), not one per refused upload.
  peer.shards.space.on('full', (e) => log.warn('disk-full', e, `the disk holding ${e.dir} is full: refusing new shards until there is room again`));
  peer.shards.space.on('recovered', (e) => log.info('disk-recovered', e, `the disk holding ${e.dir} has room again (${formatBytes(e.available)} free)`));
  peer.shards.space.on('readOnly', (e) => log.warn('read-only', e, `the shard directory ${e.dir} is read-only: refusing new shards, still serving the ones held, until it is writable again`));
  peer.shards.space.on('writable', (e) => log.info('writable', e, `the shard directory ${e.dir} is writable again: taking new shards`));
  peer.on('maintenance', (e) => {
    const line = e.failed + e.cancelled + e.replaced > 0 ? `audited ${e.audited} host(s): ${e.failed} failed, ${e.cancelled} contract(s) cancelled, ${e.replaced} replica(s) re-created` : undefined;
    log.info('maintenance', e, line);
  });
}

