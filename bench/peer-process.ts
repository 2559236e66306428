/**
 * One Peer of bench/backup.ts in its own process:
 *
 *   node dist/bench/peer-process.js CONFIG_JSON
 *
 * CONFIG_JSON: {"role": "host" | "owner", "dataDir": DIR, "storage": BYTES, "bootstrap": ["127.0.0.1:PORT"],
 * "allowance": BYTES, "recoveryKey": TEXT (optional), "transfer": {...TransferServerOptions} (optional)}.
 * The peer listens on 127.0.0.1 (UDP and TCP on one port, chosen by the system) with the DHT
 * limits for single-host networks lifted, and the default shard size (16 MiB) and chunk sizes
 * (256 KiB / 1 MiB / 4 MiB). Its periodic maintenance (audits, re-replication, republishing) is
 * pushed out of the benchmark's way: it is not what is measured.
 *
 * Prints one JSON line once it has joined: {"ready": true, "role", "port", "publicKey", "recoveryKey"}.
 * Then reads commands on stdin, one JSON object a line, and answers each with one JSON line
 * {"id", "ok": true, "result", "ms"} or {"id", "ok": false, "error"}:
 *
 * - {"cmd": "backup", "path": P, "replicas": N}  (owner) `peer.backup`;
 * - {"cmd": "snapshots"}                          (owner) `peer.snapshots` (recovers them on a new machine);
 * - {"cmd": "restore", "snapshot": ID, "dest": D} (owner) `peer.restore`;
 * - {"cmd": "gc"}                                 full garbage collection;
 * - {"cmd": "status"}                             `peer.status()`;
 * - {"cmd": "stop"}                               stops the peer and exits.
 *
 * While a backup or restore runs, the owner also prints {"progress": ...} lines (at most one
 * every 5 s). The end of stdin (the benchmark died) and SIGTERM stop the peer too.
 */
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Peer } from '../src/peer/peer.js';
import type { TransferServerOptions } from '../src/transfer/server.js';
import { toHex } from '../src/dht/id.js';

interface Config {
  role: 'host' | 'owner';
  dataDir: string;
  storage: number;
  bootstrap: string[];
  /** Reciprocity credit this peer gives one network prefix (all processes share 127.0.0.0/24). */
  allowance: number;
  recoveryKey?: string;
  /** Limits of the TCP shard server, if not the defaults. */
  transfer?: Partial<TransferServerOptions>;
}

const config = JSON.parse(process.argv[2] ?? '') as Config;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function say(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

const peer = await Peer.start({
  dataDir: config.dataDir,
  storage: config.storage,
  host: '127.0.0.1',
  port: 0,
  bootstrap: config.bootstrap,
  dht: { maxPerIpPerBucket: Infinity, rateLimit: null },
  contracts: { allowance: config.allowance },
  // 24 days: no audit, repair or republish pass lands in the middle of a measurement. (Not
  // longer: Node turns a timer over 2^31 - 1 ms into 1 ms, and maintenance would run nonstop.)
  maintenanceIntervalMs: 24 * 86_400_000,
  ...(config.recoveryKey ? { recoveryKey: config.recoveryKey } : {}),
  ...(config.transfer ? { transfer: config.transfer } : {}),
});

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await peer.stop().catch(() => {});
  process.exit(0);
}
process.on('SIGTERM', () => void stop());

/** A progress callback that prints at most one line every 5 s. */
function throttled(kind: string): (p: object) => void {
  let last = 0;
  return (p) => {
    const now = performance.now();
    if (now - last < 5000) return;
    last = now;
    say({ progress: { kind, ...p } });
  };
}

type Command = { id?: number; cmd: string; path?: string; replicas?: number; snapshot?: string; dest?: string };

async function handle(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'backup':
      return peer.backup(c.path!, { replicas: c.replicas ?? 3, onProgress: throttled('backup') });
    case 'snapshots':
      return peer.snapshots();
    case 'restore':
      return peer.restore(c.snapshot!, c.dest!, { onProgress: throttled('restore') });
    case 'gc':
      gc();
      return true;
    case 'status':
      return peer.status();
    default:
      throw new Error(`unknown command "${c.cmd}"`);
  }
}

// One command at a time, in order: the benchmark waits for each answer anyway.
let queue: Promise<void> = Promise.resolve();
createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (!line.trim()) return;
    const c = JSON.parse(line) as Command;
    if (c.cmd === 'stop') {
      void queue.then(stop);
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

say({ ready: true, role: config.role, port: peer.address.port, publicKey: toHex(peer.publicKey), recoveryKey: peer.recoveryKey });
