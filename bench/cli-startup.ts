/**
 * How long a `dbs` command takes from exec to exit: the client commands a person types most
 * (`status`, `snapshots` against a running peer, `key` without one needed), beside `node -e 0`
 * (the floor: node starting and exiting with nothing to load).
 *
 *   node dist/bench/cli-startup.js [--runs 10] [--cli dist/src/cli/main.js]
 *
 * Starts one peer (`dbs start --port 0` in a temporary data directory), runs each command
 * `--runs` times one after another and prints the median, fastest and slowest wall time in
 * milliseconds, then stops the peer (`dbs stop`). `--cli` times another build of main.js (an
 * older checkout, for a before/after comparison). The table is printed, not written: the
 * "CLI start-up" section of docs/benchmarks.md holds a before/after pair measured this way.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fixed, intFlag, machineLines, markdownTable, median, parseFlags } from './common.js';

const flags = parseFlags(process.argv.slice(2), ['runs', 'cli']);
const runs = intFlag(flags, 'runs', 10);
const cliFlag = flags.get('cli');
const cli = path.resolve(typeof cliFlag === 'string' ? cliFlag : 'dist/src/cli/main.js');

/** How long the peer may take to say it listens before the benchmark gives up, in ms. */
const PEER_START_TIMEOUT_MS = 30_000;

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'dbs-cli-bench-'));

/** Starts the peer and resolves once it printed its "listening" line (its control socket is up by then). */
function startPeer(): Promise<import('node:child_process').ChildProcess> {
  const child = spawn(process.execPath, [cli, 'start', '--data', dataDir, '--host', '127.0.0.1', '--port', '0', '--storage', '1GiB'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`the peer did not start within ${PEER_START_TIMEOUT_MS} ms:\n${seen}`)), PEER_START_TIMEOUT_MS);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      seen += chunk;
      if (/listening on/.test(seen)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the peer exited (${code}) before it listened:\n${seen}`));
    });
  });
}

/** Wall time of one run of `node args...` in ms; a non-zero exit is an error (the figure would lie). */
function timeOnce(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const commands: Array<[string, string[]]> = [
  ['node -e 0 (floor)', ['-e', '0']],
  ['dbs status', [cli, 'status', '--data', dataDir]],
  ['dbs snapshots', [cli, 'snapshots', '--data', dataDir]],
  ['dbs key', [cli, 'key', '--data', dataDir]],
];

const peer = await startPeer();
const rows: Array<Array<string | number>> = [];
try {
  for (const [label, args] of commands) {
    timeOnce(args); // one warm-up run: the page cache, not the command, would otherwise show in the first figure
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(timeOnce(args));
    rows.push([label, fixed(median(times), 0), fixed(Math.min(...times), 0), fixed(Math.max(...times), 0)]);
  }
} finally {
  spawnSync(process.execPath, [cli, 'stop', '--data', dataDir], { stdio: 'ignore' });
  await new Promise<void>((resolve) => (peer.exitCode !== null ? resolve() : peer.once('exit', () => resolve())));
  rmSync(dataDir, { recursive: true, force: true });
}

console.log(machineLines().join('\n'));
console.log(`- Runs: ${runs} per command (after one warm-up run), CLI: ${cli.startsWith(process.cwd()) ? path.relative(process.cwd(), cli) : cli}`);
console.log('');
console.log(markdownTable(['command', 'median ms', 'min ms', 'max ms'], rows));
