/**
 * Real peers as separate processes (test/helpers/peer-child.ts), for tests and benchmarks that
 * kill, restart or isolate them:
 *
 *   const host = await PeerProcess.start('host1', { dataDir, storage: GiB, bootstrap: [] });
 *   await owner.ask({ cmd: 'backup', path, replicas: 3 });   // any command of peer-child.ts
 *   await host.kill();                                        // SIGKILL, waits for the exit
 *   const again = await host.restart();                       // same data dir, same host:port
 *   await stopAllProcesses();                                 // in after(): stops what is left
 *
 * `netns` runs the process inside a Linux network namespace (`ip netns exec`, see netns.ts).
 * Every process started here is tracked until it exits, so a test can always clean up.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { PeerOptions } from '../../src/peer/peer.js';
import type { Faults } from './faulty-transport.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'peer-child.js');

/** How a peer process is set up (JSON: no functions). */
export interface PeerChildConfig {
  dataDir: string;
  /** Bytes offered to others. */
  storage: number;
  bootstrap: string[];
  /** Reciprocity credit per network prefix (on one loopback address every peer shares one /24). */
  allowance?: number;
  host?: string;
  /** 0 (default) lets the system choose; a restart passes the old one (node ID = SHA-1 of host:port). */
  port?: number;
  recoveryKey?: string;
  /** Keep the DHT's per-IP limits (default: lifted, as every loopback peer shares 127.0.0.1). */
  realNetworkLimits?: boolean;
  dht?: PeerOptions['dht'];
  contracts?: PeerOptions['contracts'];
  /** NAT settings (e.g. `mapPort: false`, `friends` by public key) for peers in the NAT lab. */
  nat?: PeerOptions['nat'];
  transfer?: PeerOptions['transfer'];
  backup?: PeerOptions['backup'];
  /** Default 24 days: maintenance runs only on the `maintain` command. */
  maintenanceIntervalMs?: number;
  /** Start with the clock this far ahead (ms), to match peers that were `advance`d. */
  clockOffsetMs?: number;
  /** Wrap the UDP socket in a FaultyTransport. */
  faults?: Faults;
  /** Hold each upload after `afterBytes` until the `release` command, all but the first `skip` uploads. */
  holdUploads?: { afterBytes: number; skip?: number };
  /** At most one progress line this often (default 5 s). */
  progressEveryMs?: number;
  /** SIGKILL the process when a prune reaches this step (src/backup/prune.ts PruneStep). */
  pruneKillAt?: string;
  /** Free text, for benchmarks that label their processes. */
  role?: string;
}

export interface StartOptions {
  /** Extra arguments for node (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Network namespace to run in. */
  netns?: string;
  /** Called with every progress line. */
  onProgress?: (progress: Record<string, unknown>) => void;
  /** Called with every other line that is not an answer (e.g. {"held": ...}). */
  onMessage?: (message: Record<string, unknown>) => void;
}

interface Answer {
  ok: boolean;
  result?: unknown;
  error?: string;
  ms: number;
}

const running = new Set<PeerProcess>();

export class PeerProcess {
  readonly pid: number;
  host = '';
  port = 0;
  publicKey = '';
  recoveryKey = '';
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  /** Resolves when the process has exited, however. */
  readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    readonly config: PeerChildConfig,
    private readonly startOptions: StartOptions,
    private readonly child: ChildProcess,
  ) {
    this.pid = child.pid!;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** Starts a peer process and waits until it has joined the network. */
  static async start(name: string, config: PeerChildConfig, options: StartOptions = {}): Promise<PeerProcess> {
    mkdirSync(config.dataDir, { recursive: true });
    const argv = [...(options.nodeArgs ?? []), CHILD, JSON.stringify(config)];
    const [cmd, args] = options.netns ? ['ip', ['netns', 'exec', options.netns, process.execPath, ...argv]] : [process.execPath, argv];
    const child = spawn(cmd, args as string[], { stdio: ['pipe', 'pipe', 'inherit'] });
    const p = new PeerProcess(name, config, options, child);
    running.add(p);
    child.once('exit', () => running.delete(p));
    // A killed child's stdin may still be written to; that is not our error.
    child.stdin!.on('error', () => {});
    const ready = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line) as Record<string, unknown>;
        } catch {
          console.log(`  [${name}] ${line}`);
          return;
        }
        if (msg.ready) {
          p.host = msg.host as string;
          p.port = msg.port as number;
          p.publicKey = msg.publicKey as string;
          p.recoveryKey = msg.recoveryKey as string;
          resolve();
        } else if (typeof msg.id === 'number') {
          const waiter = p.pending.get(msg.id);
          p.pending.delete(msg.id);
          waiter?.resolve(msg as unknown as Answer);
        } else if (msg.progress) {
          options.onProgress?.(msg.progress as Record<string, unknown>);
        } else {
          options.onMessage?.(msg);
        }
      });
      child.once('exit', (code, signal) => {
        const err = new Error(`${name} (pid ${p.pid}) exited (${signal ?? `code ${code}`})`);
        reject(err);
        for (const w of p.pending.values()) w.reject(err);
        p.pending.clear();
      });
    });
    await ready;
    return p;
  }

  /** host:port, as other peers reach it. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends a command; resolves with its result, throws with the peer's error. */
  async ask<T = unknown>(command: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    const answer = new Promise<Answer>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.child.stdin!.write(`${JSON.stringify({ ...command, id })}\n`);
    const a = await answer;
    if (!a.ok) throw new Error(`${this.name}: ${String(command.cmd)} failed: ${a.error}`);
    return a.result as T;
  }

  /** Kills the process (SIGKILL by default: no clean-up of any kind) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.alive) this.child.kill(signal);
    await this.exited;
  }

  /** Starts the peer again on the same data dir and host:port (so under the same node ID). */
  restart(over: Partial<PeerChildConfig> = {}): Promise<PeerProcess> {
    if (this.alive) throw new Error(`${this.name} is still running`);
    return PeerProcess.start(this.name, { ...this.config, host: this.host, port: this.port, ...over }, this.startOptions);
  }

  /** Asks the peer to stop cleanly; kills it if it has not exited after `graceMs`. */
  async stop(graceMs = 30_000): Promise<void> {
    if (!this.alive) return;
    this.child.stdin!.write(`${JSON.stringify({ cmd: 'stop' })}\n`);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Stops every peer process still running (clean stop, SIGKILL after `graceMs`). */
export async function stopAllProcesses(graceMs = 10_000): Promise<void> {
  await Promise.all([...running].map((p) => p.stop(graceMs)));
}

/** Kills every peer process still running at once (for exit handlers). */
export function killAllProcesses(): void {
  for (const p of running) if (p.alive) process.kill(p.pid, 'SIGKILL');
}
