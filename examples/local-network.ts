/**
 * A local network to try the `dbs` command line against: starts N peers (default 5), each a
 * separate `dbs start` process on 127.0.0.1, and keeps them running until Ctrl-C.
 *
 *   npm run example:network            # then, in another terminal, the commands it prints
 *   node dist/examples/local-network.js 8
 *
 * It uses only the command line (no library internals): what a person would script.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PEER_NODE_FLAGS } from '../src/cli/node-flags.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const count = Number(process.argv[2] ?? 5);
const work = mkdtempSync(path.join(os.tmpdir(), 'dbs-net-'));

function status(dataDir: string): Promise<{ address: string } | null> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'status', '--json', '--data', dataDir], (err, stdout) => resolve(err ? null : (JSON.parse(stdout) as { address: string })));
  });
}

async function start(name: string, extra: string[]): Promise<{ child: ChildProcess; dataDir: string; address: string }> {
  const dataDir = path.join(work, name);
  const args = [...PEER_NODE_FLAGS, CLI, 'start', '--data', dataDir, '--host', '127.0.0.1', '--port', '0', '--storage', '1GiB', ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', openSync(path.join(work, `${name}.log`), 'a'), 'inherit'] });
  for (let i = 0; i < 100; i++) {
    const s = await status(dataDir);
    if (s) return { child, dataDir, address: s.address };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not start (see ${work}/${name}.log)`);
}

const peers = [await start('peer-1', [])];
peers.push(...(await Promise.all(Array.from({ length: count - 1 }, (_, i) => start(`peer-${i + 2}`, ['--bootstrap', peers[0]!.address])))));
for (const [i, p] of peers.entries()) console.log(`peer-${i + 1}  ${p.address}  --data ${p.dataDir}`);
const d = peers[0]!.dataDir;
console.log(`\nTry (dbs is node ${path.relative(process.cwd(), CLI)}):
  dbs status --data ${d}
  dbs backup ./src --data ${d}
  dbs snapshots --data ${d}
  dbs contracts --data ${d}
  dbs restore latest /tmp/restored --data ${d}
Logs: ${work}/peer-N.log and ${work}/peer-N/dbs.log. Ctrl-C stops every peer and removes ${work}.`);

const shutdown = () => {
  for (const p of peers) p.child.kill('SIGTERM');
  void Promise.all(peers.map((p) => new Promise((r) => (p.child.exitCode !== null ? r(null) : p.child.once('exit', r))))).then(() => {
    rmSync(work, { recursive: true, force: true });
    process.exit(0);
  });
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
