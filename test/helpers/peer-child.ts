/**
 * One Peer in its own process, driven over stdin/stdout by test/helpers/peer-process.ts (the
 * fault tests, bench/backup.ts):
 *
 *   node dist/test/helpers/peer-child.js CONFIG_JSON
 *
 * CONFIG_JSON is a `PeerChildConfig` (see peer-process.ts). The peer binds `host` (default
 * 127.0.0.1) and `port` (default 0: chosen by the system; give the old port to restart a peer
 * under the same node ID). Prints one JSON line once it has joined:
 * {"ready": true, "host", "port", "publicKey", "recoveryKey"}. Then reads commands, one JSON
 * object a line, and answers each with {"id", "ok": true, "result", "ms"} or {"id", "ok": false,
 * "error"}; commands run one at a time, in order, except `release`, `advance` and `faults`,
 * which answer at once (they steer a command that is running), and `memory`:
 *
 * - backup {path, replicas}, snapshots, restore {snapshot, dest}: the Peer's methods;
 * - forget {keepLast}, prune {maxUnused, dryRun}: the Peer's methods (`pruneKillAt` kills the process at that prune step);
 * - maintain: `peer.maintain()` (contracts, orphan shards, audits and repair, records);
 * - repair: `peer.backupsMaintain()` alone, answers its report;
 * - status, contracts, dhtContacts (the routing table), shards (hashes in the shard store), gc;
 * - backupShards: the owner's backup index, [{hash, kind, replicas}];
 * - advance {ms}: moves this peer's clock forward (see `clockOffsetMs`);
 * - release: lets uploads held by `holdUploads` go on;
 * - faults: the counters of the lossy transport (`faults`);
 * - memory: `process.memoryUsage()`, also while a command runs;
 * - stop: stops the peer and exits (so do SIGTERM and the end of stdin).
 *
 * While a backup or restore runs it prints {"progress": {...}} lines, at most one every
 * `progressEveryMs`.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { pipeline, Transform } from 'node:stream';
import Database from 'better-sqlite3';
import { collectGarbage } from '../../src/util/scavenge.js';
import { Peer, type PeerOptions } from '../../src/peer/peer.js';
import { toHex } from '../../src/util/bytes.js';
import type { Clock } from '../../src/util/clock.js';
import { systemClock } from '../../src/util/clock.js';
import { FaultyTransport } from './faulty-transport.js';
import type { PeerChildConfig } from './peer-process.js';
import { stopOnce } from './child-stop.js';

const config = JSON.parse(process.argv[2] ?? '') as PeerChildConfig;


function say(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/**
 * Real time plus an offset the test moves forward: grace periods and reservations run out
 * at once, while timeouts on the wire stay real. Every process of a test is moved together.
 */
let offset = config.clockOffsetMs ?? 0;
const clock: Clock = { ...systemClock, now: () => Date.now() + offset };

let faulty: FaultyTransport | null = null;
const options: PeerOptions = {
  dataDir: config.dataDir,
  storage: config.storage,
  host: config.host ?? '127.0.0.1',
  port: config.port ?? 0,
  bootstrap: config.bootstrap,
  clock,
  // Per-IP limits lifted unless asked for: on one loopback address every peer shares one IP.
  dht: config.realNetworkLimits ? { ...config.dht } : { maxPerIpPerBucket: Infinity, rateLimit: null, ...config.dht },
  contracts: { allowance: config.allowance, ...config.contracts },
  // Default 24 days: no audit, repair or republish pass runs unless the driver asks (not
  // longer: Node turns a timer over 2^31 - 1 ms into 1 ms).
  maintenanceIntervalMs: config.maintenanceIntervalMs ?? 24 * 86_400_000,
  ...(config.recoveryKey ? { recoveryKey: config.recoveryKey } : {}),
  ...(config.transfer ? { transfer: config.transfer } : {}),
  ...(config.backup ? { backup: config.backup } : {}),
  ...(config.nat ? { nat: config.nat } : {}),
  ...(config.faults ? { wrapTransport: (udp) => (faulty = new FaultyTransport(udp, config.faults!)) } : {}),
};
const peer = await Peer.start(options);

// Uploads held after `holdUploads.afterBytes` bytes until `release` (all but the first
// `skip` uploads): a slow link the test controls, so a process can be killed while a shard
// is half sent, every time.
let released = config.holdUploads === undefined;
const waiting: (() => void)[] = [];
if (config.holdUploads) {
  const { afterBytes, skip = 0 } = config.holdUploads;
  let started = 0;
  // Held where every upload of the peer goes through (placement and Peer.upload alike): its
  // owner transfers (src/peer/owner-transfers.ts), reached as an internal like fuzz-target does.
  const transfers = (peer as unknown as { services: { transfers: Pick<Peer, 'upload'> } }).services.transfers;
  const upload = transfers.upload.bind(transfers);
  transfers.upload = (contract, source) => {
    // Uploads name the shard file (sent with reused buffers); held uploads go through a stream.
    const open = typeof source === 'string' ? () => createReadStream(source, { highWaterMark: 1024 * 1024 }) : source;
    return upload(contract, () => {
      if (started++ < skip) return open();
      let sent = 0;
      const gate = new Transform({
        transform(chunk: Buffer, _enc, done) {
          if (released || sent + chunk.length <= afterBytes) {
            sent += chunk.length;
            return done(null, chunk);
          }
          // Send up to the limit now (reads are 1 MiB, a shard may be one read), hold the rest.
          const head = chunk.subarray(0, Math.max(0, afterBytes - sent));
          const rest = chunk.subarray(head.length);
          if (head.length > 0) this.push(head);
          sent += head.length;
          say({ held: { contract: toHex(contract.contract.id), host: contract.counterpartAddress, sent } });
          waiting.push(() => {
            sent += rest.length;
            done(null, rest);
          });
        },
      });
      // pipeline, not pipe: a read error of the shard file must still fail the upload.
      return pipeline(open(), gate, () => {});
    });
  };
}

const stop = stopOnce(peer);

function throttled(kind: string): (p: object) => void {
  let last = -Infinity;
  const every = config.progressEveryMs ?? 5000;
  return (p) => {
    const now = performance.now();
    if (now - last < every) return;
    last = now;
    say({ progress: { kind, ...p } });
  };
}

type Command = { id?: number; cmd: string; path?: string; replicas?: number; snapshot?: string; dest?: string; ms?: number; keepLast?: number; maxUnused?: number; dryRun?: boolean };

async function handle(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'backup':
      return peer.backup(c.path!, { replicas: c.replicas ?? 3, onProgress: throttled('backup') });
    case 'snapshots':
      return peer.snapshots();
    case 'restore':
      return peer.restore(c.snapshot!, c.dest!, { onProgress: throttled('restore') });
    case 'maintain':
      return peer.maintain();
    case 'repair':
      return peer.backupsMaintain();
    case 'status':
      return peer.status();
    case 'contracts':
      return peer.contracts();
    case 'dhtContacts':
      return peer.dht.contacts().map((c) => ({ id: toHex(c.id), host: c.host, port: c.port }));
    case 'shards':
      return (await peer.shards.list()).map(toHex);
    case 'backupShards': {
      // The owner's own record of the shards it wants kept, read beside the peer's connection.
      const db = new Database(path.join(config.dataDir, 'peer.db'), { readonly: true });
      try {
        return db.prepare("SELECT lower(hex(hash)) AS hash, kind, replicas FROM backup_shards").all();
      } finally {
        db.close();
      }
    }
    case 'forget':
      return peer.forget({ policy: { last: c.keepLast ?? 1 } });
    case 'prune': {
      // `pruneKillAt`: SIGKILL ourselves at that step of the prune (the crash tests). `stepMs`:
      // ms from the start to each step's end (bench:retention shows where the time goes).
      const t0 = performance.now();
      const stepMs: Record<string, number> = {};
      const result = await peer.prune({
        dryRun: c.dryRun === true,
        ...(c.maxUnused !== undefined ? { maxUnusedPercent: c.maxUnused } : {}),
        onStep: (step) => {
          if (step === config.pruneKillAt) process.kill(process.pid, 'SIGKILL');
          stepMs[step] ??= Math.round(performance.now() - t0);
        },
      });
      return { ...result, stepMs: { ...stepMs, done: Math.round(performance.now() - t0) } };
    }
    case 'gc':
      collectGarbage('major');
      return true;
    default:
      throw new Error(`unknown command "${c.cmd}"`);
  }
}

/** Commands that steer a running one, so they cannot wait in the queue behind it. */
function immediate(c: Command): unknown {
  switch (c.cmd) {
    case 'advance':
      offset += c.ms ?? 0;
      return offset;
    case 'release':
      released = true;
      for (const go of waiting.splice(0)) go();
      return true;
    case 'faults':
      return faulty?.counters ?? null;
    case 'memory':
      return process.memoryUsage();
    default:
      return undefined;
  }
}

let queue: Promise<void> = Promise.resolve();
createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (!line.trim()) return;
    const c = JSON.parse(line) as Command;
    if (c.cmd === 'stop') {
      void queue.then(stop);
      return;
    }
    const now = immediate(c);
    if (now !== undefined) {
      say({ id: c.id, ok: true, result: now, ms: 0 });
      return;
    }
    queue = queue.then(async () => {
      const start = performance.now();
      try {
        const result = await handle(c);
        say({ id: c.id, ok: true, result, ms: performance.now() - start });
      } catch (err) {
        say({ id: c.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err), ms: performance.now() - start });
      }
    });
  })
  .on('close', () => void stop());

say({ ready: true, host: peer.address.host, port: peer.address.port, publicKey: toHex(peer.publicKey), recoveryKey: peer.recoveryKey });
