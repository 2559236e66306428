/**
 * Restore from hosts, replicas 3 against 2/4, measured so that a busy machine's load falls on
 * both alike: one network (an owner and 7 hosts on loopback, one process), one snapshot of
 * each scheme (different data of the same size), the owner's local copies moved aside, then
 * restores taken in turn (r3, 2/4, 2/4, r3, ...), wall time and the process's CPU time each.
 *
 *   npm run bench:erasure-restore   (node dist/bench/erasure-restore.js [--mib 16] [--rounds 6] [--write])
 *
 * Beside src/backup/piece-fetch.ts's totals for the coded restores: shards fetched as pieces,
 * requests hedged, shards decoded (not joined).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Peer, PeerOptions } from '../src/peer/peer.js';
import { MiB, startPeers, stopAll, tempDir } from '../test/helpers/peers.js';
import { intFlag, machineLines, markdownTable, mean, parseFlags, writeSection } from './common.js';

const FAST: Partial<PeerOptions> = {
  dht: { maxPerIpPerBucket: Infinity, rateLimit: null, lookupTimeoutMs: 1000, requestTimeoutMs: 1000, retries: 0 },
  backup: { shardSize: 4 * MiB, hostGraceMs: 0 },
};

type Totals = { shards: number; hedged: number; decoded: number };

/** The piece fetcher's running totals, read through the engine's private parts: a benchmark's look inside, no API. */
function pieceTotals(owner: Peer): Totals {
  const inside = owner as unknown as { services: { backups: { locator: { pieces: { totals: Totals } } } } };
  return { ...inside.services.backups.locator.pieces.totals };
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['mib', 'rounds', 'write']);
  const mib = intFlag(flags, 'mib', 16);
  const rounds = intFlag(flags, 'rounds', 6);
  const load = os.loadavg().map((l) => l.toFixed(2)).join(', ');
  const peers = await startPeers(8, FAST);
  const owner = peers[0]!;
  const schemes = [
    { name: 'replicas 3', options: { replicas: 3 } },
    { name: '2/4', options: { erasure: { k: 2, n: 4 } } },
  ];
  const dirs: string[] = [];
  try {
    const ids: string[] = [];
    for (const s of schemes) {
      const source = tempDir('dbs-bench-restore-src-');
      dirs.push(source);
      // Incompressible 4 MiB files: sealed bytes = data bytes, shards full.
      for (let i = 0; i < mib / 4; i++) writeFileSync(path.join(source, `f${i}.bin`), randomBytes(4 * MiB));
      ids.push((await owner.backup(source, s.options)).id);
    }
    const own = path.join(owner.dataDir, 'backup', 'shards');
    const aside = tempDir('dbs-bench-restore-aside-');
    dirs.push(aside);
    for (const f of readdirSync(own)) renameSync(path.join(own, f), path.join(aside, f));
    const wall: number[][] = [[], []];
    const cpu: number[][] = [[], []];
    const before = pieceTotals(owner);
    for (let r = 0; r < rounds; r++) {
      for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const dest = path.join(tempDir('dbs-bench-restore-dest-'), 'r');
        const c0 = process.cpuUsage();
        const t = performance.now();
        const result = await owner.restore(ids[i]!, dest);
        wall[i]!.push(performance.now() - t);
        const c = process.cpuUsage(c0);
        cpu[i]!.push((c.user + c.system) / 1000);
        rmSync(path.dirname(dest), { recursive: true, force: true });
        if (result.incomplete.length > 0) throw new Error(`${schemes[i]!.name}: restore incomplete`);
      }
    }
    const after = pieceTotals(owner);
    const ms = (v: number) => `${v.toFixed(0)} ms`;
    const table = markdownTable(
      ['scheme', 'restore, wall (mean)', 'vs replicas 3', 'CPU time (mean)', 'vs replicas 3', 'each restore, wall'],
      schemes.map((s, i) => [s.name, ms(mean(wall[i]!)), `${(mean(wall[i]!) / mean(wall[0]!)).toFixed(2)}x`, ms(mean(cpu[i]!)), `${(mean(cpu[i]!) / mean(cpu[0]!)).toFixed(2)}x`, wall[i]!.map((w) => w.toFixed(0)).join(', ')]),
    );
    const section = [
      `## erasure-restore: restore from hosts, replicas 3 vs 2/4, taken in turn (\`npm run bench:erasure-restore\`)`,
      '',
      ...machineLines(),
      `- Load average when the run started: ${load}`,
      `- Data: ${mib} MiB of incompressible files per snapshot, 4 MiB shards; owner + 7 hosts on loopback in one process; ${rounds} restores of each, in turn (r3, 2/4, 2/4, r3, ...), local copies moved aside`,
      '',
      table,
      '',
      `Coded restores: ${after.shards - before.shards} shards fetched as pieces, ${after.hedged - before.hedged} requests hedged, ${after.decoded - before.decoded} shards decoded (the rest joined from their data pieces). CPU time: the whole process (owner, hosts, worker threads), so both schemes' hosts count too.`,
    ].join('\n');
    console.log(section);
    if (flags.has('write')) writeSection('erasure-restore', section);
  } finally {
    await stopAll(peers);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
