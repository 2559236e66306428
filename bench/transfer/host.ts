/**
 * The host of bench:transfer in a process of its own (bench/host-process.ts): started with the
 * shard's paths, driven by one command a line on stdin, answering one JSON line each.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HOST_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'host-process.js');

export type RawName = 'discard' | 'sha256' | 'file' | 'sha256File' | 'verifyFile' | 'get';

export interface HostProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  raw: Record<RawName, number>;
  /** Sends a command line and returns the host's next JSON line. */
  ask(command: string): Promise<Record<string, unknown>>;
}

export async function startHost(args: string[]): Promise<HostProcess> {
  const child = spawn(process.execPath, [HOST_SCRIPT, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await lines.next();
    if (line.done) throw new Error('the host process exited');
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  const hello = (await next()) as { port: number; raw: Record<RawName, number> };
  return {
    child,
    pid: child.pid!,
    port: hello.port,
    raw: hello.raw,
    ask(command) {
      child.stdin!.write(`${command}\n`);
      return next();
    },
  };
}

/** Stops the host; returns its peak RSS since the last reset, in KiB. */
export async function stopHost(host: HostProcess): Promise<number> {
  const exited = new Promise((resolve) => host.child.once('exit', resolve));
  const { maxRSS } = (await host.ask('stop')) as { maxRSS: number };
  await exited;
  return maxRSS;
}
