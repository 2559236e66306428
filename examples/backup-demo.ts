/**
 * The backup demo: eight peers on 127.0.0.1 (real UDP and TCP sockets, one process), one of
 * them backs up a sample folder with 3 replicas, two hosts die, the owner notices and
 * repairs, and the folder is restored and checked byte for byte. Everything printed is
 * measured. Run with `npm run demo`; it cleans up after itself.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, lstatSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Peer, type PeerOptions, toHex } from '../src/index.js';

const PEERS = 8;
const MiB = 2 ** 20;
// Small shards and chunks so a few MiB make several of each; audits on every pass; hosts
// that stop answering are replaced at once (a real peer waits a grace period of 24 h).
const DEMO: Partial<PeerOptions> = {
  host: '127.0.0.1',
  storage: 256 * MiB,
  dht: { maxPerIpPerBucket: Infinity, rateLimit: null, lookupTimeoutMs: 300, requestTimeoutMs: 300, retries: 0 },
  backup: { shardSize: 1 * MiB, chunkSizes: { min: 32 * 1024, avg: 128 * 1024, max: 512 * 1024 }, hostGraceMs: 0 },
  contracts: { auditIntervalSeconds: 0, auditSamples: 16 },
};

const short = (hex: string) => hex.slice(0, 8);
const size = (n: number) => (n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`);
const seconds = (start: number) => `${((Date.now() - start) / 1000).toFixed(2)} s`;

function makeSample(root: string): void {
  mkdirSync(path.join(root, 'photos', '2026'), { recursive: true });
  mkdirSync(path.join(root, 'empty-folder'));
  writeFileSync(path.join(root, 'notes.txt'), 'Back up onto your friends\' disks, not a cloud.\n'.repeat(500));
  writeFileSync(path.join(root, 'photos', '2026', 'beach.raw'), randomBytes(3 * MiB));
  writeFileSync(path.join(root, 'photos', '2026', 'hike.raw'), randomBytes(2 * MiB));
  writeFileSync(path.join(root, 'empty.txt'), '');
  writeFileSync(path.join(root, 'run.sh'), '#!/bin/sh\necho restored\n');
  chmodSync(path.join(root, 'run.sh'), 0o755);
  symlinkSync('notes.txt', path.join(root, 'latest-notes'));
}

/** path → type, mode and content digest (or link target), for the byte-for-byte check. */
function fingerprint(root: string, rel = '', out = new Map<string, string>()): Map<string, string> {
  const abs = path.join(root, rel);
  const st = lstatSync(abs);
  if (st.isSymbolicLink()) out.set(rel, `link ${readlinkSync(abs)}`);
  else if (st.isFile()) out.set(rel, `file ${(st.mode & 0o777).toString(8)} ${createHash('sha256').update(readFileSync(abs)).digest('hex')}`);
  else if (st.isDirectory()) {
    if (rel) out.set(rel, `dir ${(st.mode & 0o777).toString(8)}`);
    for (const name of readdirSync(abs)) fingerprint(root, rel ? `${rel}/${name}` : name, out);
  }
  return out;
}

function placement(owner: Peer, names: Map<string, string>): string[] {
  const byShard = new Map<string, string[]>();
  for (const c of owner.contracts()) {
    if (c.role !== 'owner' || (c.state !== 'active' && c.state !== 'pending')) continue;
    byShard.set(c.shardHash, [...(byShard.get(c.shardHash) ?? []), names.get(c.counterpart) ?? short(c.counterpart)]);
  }
  return [...byShard].map(([shard, hosts]) => `  shard ${short(shard)}  ${size(owner.contracts().find((c) => c.shardHash === shard)!.size).padStart(9)}  on ${hosts.sort().join(', ')}`);
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'dbs-demo-'));
  const peers: Peer[] = [];
  const started = Date.now();
  try {
    console.log(`Starting ${PEERS} peers on 127.0.0.1 (real UDP + TCP sockets)...`);
    for (let i = 0; i < PEERS; i++) {
      peers.push(await Peer.start({ ...DEMO, dataDir: path.join(work, `peer-${i + 1}`), storage: 256 * MiB, ...(i > 0 ? { bootstrap: [peers[0]!.address] } : {}) }));
    }
    const names = new Map(peers.map((p, i) => [toHex(p.publicKey), `peer-${i + 1}`]));
    const owner = peers[0]!;
    console.log(`  ${peers.map((p, i) => `peer-${i + 1} ${p.address.port}`).join(', ')}\n`);

    const source = path.join(work, 'my-files');
    mkdirSync(source);
    makeSample(source);
    console.log(`peer-1 backs up ${source} (replicas = 3)`);
    let t = Date.now();
    let last = '';
    const snap = await owner.backup(source, {
      replicas: 3,
      onProgress: (p) => {
        const line = `  ${p.phase.padEnd(9)} ${p.files} files, ${size(p.bytes)} read, ${size(p.uploadedBytes)} uploaded`;
        if (line !== last && (p.phase !== 'uploading' || p.files % 2 === 0)) console.log((last = line));
      },
    });
    console.log(`  snapshot ${snap.id}: ${snap.files} files, ${size(snap.bytes)}, ${snap.shards} shards, ${seconds(t)}${snap.shortfall ? `, ${snap.shortfall} replicas short` : ''}\n`);
    console.log('Where the (encrypted) shards live:');
    for (const line of placement(owner, names)) console.log(line);

    const again = await owner.backup(source, { replicas: 3 });
    console.log(`\nA second backup of the unchanged folder uploads ${size(again.uploadedBytes)} of file data (every chunk is already stored).\n`);

    // Two hosts that keep shards for peer-1 disappear without a word.
    const hosts = new Set(owner.contracts().filter((c) => c.role === 'owner' && c.state === 'active').map((c) => c.counterpart));
    const victims = peers.slice(1).filter((p) => hosts.has(toHex(p.publicKey))).slice(0, 2);
    for (const v of victims) await v.stop();
    console.log(`Killed ${victims.map((v) => names.get(toHex(v.publicKey))).join(' and ')}. peer-1 audits its hosts and repairs:`);
    t = Date.now();
    const report = await owner.backupsMaintain();
    console.log(`  audited ${report.audited} contracts, ${report.cancelled} cancelled (hosts gone), ${report.replaced} new replicas placed, ${seconds(t)}`);
    for (const line of placement(owner, names)) console.log(line);

    // The owner keeps local copies of its shards; set them aside so every byte comes from hosts.
    rmSync(path.join(owner.dataDir, 'backup', 'shards'), { recursive: true, force: true });
    mkdirSync(path.join(owner.dataDir, 'backup', 'shards'));
    const dest = path.join(work, 'restored');
    console.log(`\nRestoring snapshot ${snap.id} into ${dest}, from the hosts (local copies removed)`);
    t = Date.now();
    const restored = await owner.restore(snap.id, dest);
    const same = JSON.stringify([...fingerprint(source)].sort()) === JSON.stringify([...fingerprint(dest)].sort());
    console.log(`  ${restored.files} files, ${size(restored.bytes)}, ${seconds(t)}; incomplete: ${restored.incomplete.length ? restored.incomplete.join(', ') : 'none'}`);
    console.log(`  byte-for-byte identical to the original (content, modes, links): ${same ? 'yes' : 'NO'}\n`);

    console.log('Summary');
    const rows = [
      ['peers', String(PEERS)],
      ['files backed up', String(snap.files)],
      ['data', size(snap.bytes)],
      ['replicas per shard', '3'],
      ['hosts killed', String(victims.length)],
      ['replicas re-placed', String(report.replaced)],
      ['restore identical', same ? 'yes' : 'NO'],
      ['total time', seconds(started)],
    ];
    for (const [k, v] of rows) console.log(`  ${k!.padEnd(20)} ${v}`);
    if (!same || restored.incomplete.length > 0) process.exitCode = 1;
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
