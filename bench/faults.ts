/**
 * How long repair takes under churn: the scenario of test/faults/churn.test.ts (test/helpers/
 * churn.ts) at the size, timed.
 *
 *   node dist/bench/faults.js [--peers 20] [--files 30] [--kills 8] [--restarts 3] [--seed 7] [--write]
 *
 * 20 peer processes on 127.0.0.1, one owner backing up 30 files (replicas 3, 256 KiB shards);
 * 8 hosts killed with SIGKILL one after another (40% of the network), 3 of them restarted
 * later. After each kill the owner's pass notes the silence; every clock then moves past
 * the grace period and the owner's passes run until every shard has 3 live replicas again:
 * the wall time of those passes, divided by the replicas the dead host held, is the repair
 * time per lost replica. At the end a new machine with the recovery key restores every file
 * (checked byte for byte). `--write` replaces the section "## faults: ..." of docs/benchmarks.md.
 */
import os from 'node:os';
import { CHURN_LONG, GRACE_MS, REPLICAS, runChurn } from '../test/helpers/churn.js';
import { killAllProcesses, stopAllProcesses } from '../test/helpers/peer-process.js';
import { cleanUpOnSignal, fixed, intFlag, machineLines, markdownTable, median, parseFlags, writeSection } from './common.js';

const flags = parseFlags(process.argv.slice(2), ['peers', 'files', 'kills', 'restarts', 'seed', 'write']);
const size = {
  peers: intFlag(flags, 'peers', CHURN_LONG.peers),
  files: intFlag(flags, 'files', CHURN_LONG.files),
  kills: intFlag(flags, 'kills', CHURN_LONG.kills),
  restarts: intFlag(flags, 'restarts', CHURN_LONG.restarts),
  seed: intFlag(flags, 'seed', CHURN_LONG.seed),
};

cleanUpOnSignal(killAllProcesses);

const load = os.loadavg().map((l) => l.toFixed(2)).join(', ');
const started = Date.now();
let result;
try {
  result = await runChurn(size, (line) => console.log(line));
} finally {
  await stopAllProcesses();
}
const seconds = (Date.now() - started) / 1000;
const identical = JSON.stringify(result.restored) === JSON.stringify(result.expected) && result.incomplete.length === 0;
const lost = result.kills.reduce((s, k) => s + k.lostReplicas, 0);
const repairTotal = result.kills.reduce((s, k) => s + k.repairSeconds, 0);
const perReplica = result.kills.map((k) => k.repairSeconds / k.lostReplicas);

const rows = result.kills.map((k, i) => [
  i + 1,
  k.host + (k.restarted ? ' (restarted later)' : ''),
  k.lostReplicas,
  k.replaced,
  k.passes,
  fixed(k.repairSeconds, 1),
  fixed(k.repairSeconds / k.lostReplicas, 1),
  k.timeouts,
]);
const section = [
  `## faults: repair under churn (${size.peers} peer processes, ${size.files} files, ${size.kills} hosts killed)`,
  '',
  ...machineLines(),
  `- Load average before the run: ${load} (the machine is shared: other work inflates every time below)`,
  '',
  `One owner and ${size.peers - 1} hosts, each a \`Peer\` in its own process on 127.0.0.1 (\`test/helpers/peer-child.ts\`); the owner`,
  `backs up ${size.files} files (${fixed(result.bytes / 2 ** 20, 1)} MiB, ${result.shards} shards of at most 256 KiB) with replicas = ${REPLICAS}.`,
  `Then ${size.kills} hosts holding replicas are killed with SIGKILL one after another (${Math.round((100 * size.kills) / size.peers)}% of the network), ${size.restarts} of them`,
  `restarted after their replicas were moved. After each kill the owner's keep-alive pass notes the silence; every clock`,
  `is moved past the grace period (${GRACE_MS / 1000} s, virtual); then the owner's passes (audit every host, cancel the dead one's`,
  'contracts, negotiate and upload new replicas from its local copies, republish the catalog) run until every shard has',
  `${REPLICAS} live replicas on running hosts. "Repair" is the wall time of those passes. At the end the owner's machine is lost`,
  `and a new one with only the recovery key restores every file: ${identical ? 'byte-identical' : 'NOT IDENTICAL'} (${result.restoredFiles} files).`,
  '',
  markdownTable(['kill', 'host', 'replicas lost', 'placed again', 'passes', 'repair s', 's per lost replica', 'owner RPC timeouts'], rows),
  '',
  `- Repair time per lost replica: ${fixed(repairTotal / lost, 1)} s overall (${lost} replicas in ${fixed(repairTotal, 1)} s), median per kill ${fixed(median(perReplica), 1)} s.`,
  '- Most of it is waiting on timeouts (last column; 1.5 s each, one retransmit): requests to the dead host, and',
  '  lookups through dead hosts still in routing tables, so the count grows as more hosts have died.',
  `- Whole run (start-up, backup, kills, restore): ${fixed(seconds, 0)} s.`,
].join('\n');
console.log(`\n${section}\n`);
if (!identical) {
  console.error('the restore was not byte-identical');
  process.exitCode = 1;
}
if (flags.has('write')) writeSection('faults', section);
