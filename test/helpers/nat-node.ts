/** Drives test/helpers/nat-node-child.ts inside a NAT lab namespace: one command at a time, one JSON line back. */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { NatNodeConfig } from './nat-node-child.js';

const HELPERS = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(HELPERS, 'nat-node-child.js');
/** The home peer of the hole-punching test (nat-punch-child.ts). */
export const PUNCH_CHILD = path.join(HELPERS, 'nat-punch-child.js');

export class LabNode {
  private readonly queue: ((line: string) => void)[] = [];

  private constructor(
    private readonly child: ChildProcess,
    lines: Interface,
    readonly address: string,
    readonly id: string,
    /** The whole ready line (nat-punch-child.ts adds `publicKey`). */
    readonly ready: Record<string, string>,
  ) {
    lines.on('line', (line) => this.queue.shift()?.(line));
  }

  static async start(ns: string, config: NatNodeConfig, script = CHILD): Promise<LabNode> {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! });
    const ready = await new Promise<Record<string, string> & { address: string; id: string }>((resolve, reject) => {
      lines.once('line', (line) => resolve(JSON.parse(line) as Record<string, string> & { address: string; id: string }));
      child.once('exit', (code) => reject(new Error(`nat node in ${ns} exited with ${code}`)));
    });
    return new LabNode(child, lines, ready.address, ready.id, ready);
  }

  /** Sends a command and resolves with its answer. */
  call<T = any>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    return new Promise((resolve) => {
      this.queue.push((line) => resolve(JSON.parse(line) as T));
      this.child.stdin!.write(`${JSON.stringify({ cmd, ...args })}\n`);
    });
  }

  /** Asks for `status` until `predicate` holds (each answer is a round trip to the child). */
  async until(predicate: (status: any) => boolean, what: string, deadlineMs = 15_000): Promise<any> {
    const end = Date.now() + deadlineMs;
    for (;;) {
      const status = await this.call('status');
      if (predicate(status)) return status;
      if (Date.now() > end) throw new Error(`gave up waiting for ${what}: ${JSON.stringify(status).slice(0, 600)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops the node (its NAT service removes any port mapping first) and waits for the exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.write(`${JSON.stringify({ cmd: 'stop' })}\n`);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}
