/**
 * The test side of a fuzz target: a Peer running in a child process (fuzz-target.ts), driven
 * over its stdin/stdout, with what it counted by source.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostCounters } from '../../src/contracts/host.js';
import type { Address } from '../../src/net/address.js';
import type { PeerStatus } from '../../src/peer/peer.js';

/** Datagrams and TCP connections by source IP, counted at the target's sockets. */
export interface BySource {
  udp: Record<string, number>;
  tcp: Record<string, number>;
}

export interface TargetStatus {
  status: PeerStatus;
  bySource: BySource;
  host: HostCounters;
  memory: NodeJS.MemoryUsage;
}

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fuzz-target.js');

/** A Peer running in a child process, driven over its stdin/stdout. */
export class FuzzTarget {
  private nextId = 1;
  private readonly waiting = new Map<number, (v: any) => void>();
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  stderr = '';

  private constructor(
    readonly child: ChildProcess,
    readonly address: Address,
    readonly publicKey: Uint8Array,
  ) {}

  /** `env`: added to the child's environment (e.g. NODE_V8_COVERAGE, to see which code ran). */
  static async start(config: { dataDir: string; storage: number; allowance?: number; transfer?: object }, env: Record<string, string> = {}): Promise<FuzzTarget> {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let target: FuzzTarget | undefined;
    let buffered = '';
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (target) target.stderr = stderr.slice(-4000);
    });
    return new Promise<FuzzTarget>((resolve, reject) => {
      child.once('exit', (code, signal) => {
        if (target) {
          target.exitCode = code;
          target.exitSignal = signal;
          for (const w of target.waiting.values()) w({ error: `target exited (${code ?? signal}): ${stderr.slice(-2000)}` });
          target.waiting.clear();
        } else reject(new Error(`fuzz target exited before it was ready (${code ?? signal}): ${stderr}`));
      });
      child.stdout!.on('data', (d: Buffer) => {
        buffered += d.toString();
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          const msg = JSON.parse(line) as { ready?: boolean; id?: number; port?: number; publicKey?: string };
          if (msg.ready) {
            target = new FuzzTarget(child, { host: '127.0.0.1', port: msg.port! }, new Uint8Array(Buffer.from(msg.publicKey!, 'hex')));
            resolve(target);
          } else if (target && msg.id !== undefined) {
            target.waiting.get(msg.id)?.(msg);
            target.waiting.delete(msg.id);
          }
        }
      });
    });
  }

  get alive(): boolean {
    return this.exitCode === null && this.exitSignal === null;
  }

  private command<T>(cmd: string): Promise<T> {
    if (!this.alive) return Promise.reject(new Error(`target is dead (${this.exitCode ?? this.exitSignal}): ${this.stderr}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, (msg: { error?: string } & T) => (msg.error ? reject(new Error(msg.error)) : resolve(msg)));
      this.child.stdin!.write(`${JSON.stringify({ id, cmd })}\n`);
    });
  }

  /** Datagrams the target's endpoint has received so far, and what arrived from each source IP. */
  received(): Promise<{ received: number; bySource: BySource }> {
    return this.command('received');
  }

  status(): Promise<TargetStatus> {
    return this.command('status');
  }

  /** Runs a full garbage collection in the target and returns its figures. */
  gc(): Promise<TargetStatus> {
    return this.command('gc');
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end(`${JSON.stringify({ id: 0, cmd: 'stop' })}\n`);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
