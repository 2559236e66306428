/**
 * Crash safety of whole peers (separate processes, SIGKILL, no clean-up of any kind):
 *
 * - an owner killed in the middle of a backup (one shard placed, the next half uploaded)
 *   restarts with consistent state; the hosts drop the partial upload and their reservations
 *   lapse; the backup runs again, completes and restores byte for byte on a new machine;
 * - a host killed in the middle of an upload restarts with no partial shard, its contract for
 *   that shard still pending until the reservation lapses; the owner places the missing
 *   replica elsewhere, and everything restores byte for byte.
 *
 * Uploads are held at a byte count by the owner process (peer-child.ts `holdUploads`), so the
 * kill always lands mid-upload; clocks are moved past the upload timeout (`advance`), not waited.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ContractInfo } from '../../src/contracts/service.js';
import type { PeerStatus } from '../../src/peer/peer.js';
import { until } from '../helpers/network.js';
import { type PeerChildConfig, PeerProcess, stopAllProcesses } from '../helpers/peer-process.js';
import { GiB, MiB, tempDir } from '../helpers/peers.js';
import { describeTree } from '../helpers/trees.js';

const UPLOAD_TIMEOUT_MS = 60_000;
const HELD_AT = 256 * 1024;

function config(dataDir: string, bootstrap: string[], over: Partial<PeerChildConfig> = {}): PeerChildConfig {
  return {
    dataDir,
    storage: GiB,
    bootstrap,
    allowance: 1024 * GiB,
    // Dead peers cost a timeout per request: short ones, but not so short a loaded machine trips them.
    dht: { lookupTimeoutMs: 1000, requestTimeoutMs: 1000, retries: 1 },
    backup: { shardSize: 1 * MiB, chunkSizes: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }, hostGraceMs: 0 },
    contracts: { auditIntervalSeconds: 0, auditSamples: 16, uploadTimeoutMs: UPLOAD_TIMEOUT_MS },
    ...over,
  };
}

/** Files in a host's shard store: the partial uploads (tmp/) and the stored shards. */
function shardFiles(dataDir: string): { tmp: string[]; shards: string[] } {
  const dir = path.join(dataDir, 'shards');
  const shards: string[] = [];
  const walk = (d: string) => {
    for (const name of existsSync(d) ? readdirSync(d, { withFileTypes: true }) : []) {
      if (name.isDirectory()) {
        if (name.name !== 'tmp') walk(path.join(d, name.name));
      } else if (!name.name.endsWith('.tree')) shards.push(name.name);
    }
  };
  walk(dir);
  const tmpDir = path.join(dir, 'tmp');
  return { tmp: existsSync(tmpDir) ? readdirSync(tmpDir) : [], shards };
}

/** Space a host promised must be exactly the sizes of its live contracts. */
async function checkReservations(host: PeerProcess): Promise<ContractInfo[]> {
  const [status, contracts] = await Promise.all([host.ask<PeerStatus>({ cmd: 'status' }), host.ask<ContractInfo[]>({ cmd: 'contracts' })]);
  const live = contracts.filter((c) => c.role === 'host' && (c.state === 'pending' || c.state === 'active'));
  expect(status.storage.promised, `${host.name}: promised space`).to.equal(live.reduce((s, c) => s + c.size, 0));
  // Every active contract's shard is on disk, whole (a partial one never gets its name).
  const onDisk = new Set(shardFiles(host.config.dataDir).shards);
  for (const c of live.filter((x) => x.state === 'active')) expect(onDisk.has(c.shardHash), `${host.name}: shard of an active contract`).to.equal(true);
  return contracts;
}

describe('crash safety: peers killed with SIGKILL in the middle of their work', function () {
  this.timeout(180_000);
  const root = tempDir('dbs-crash-peer-');
  const source = path.join(root, 'source');
  let hosts: PeerProcess[] = [];
  let owner: PeerProcess;
  let offset = 0;
  const held: { contract: string; host: string }[] = [];
  const onMessage = (m: Record<string, unknown>) => {
    if (m.held) held.push(m.held as { contract: string; host: string });
  };

  /** Moves every running peer's clock forward (and those started later, through `offset`). */
  async function advance(ms: number): Promise<void> {
    offset += ms;
    await Promise.all([owner, ...hosts].filter((p) => p.alive).map((p) => p.ask({ cmd: 'advance', ms })));
  }

  async function restoreOnNewMachine(snapshot: string, name: string): Promise<ReturnType<typeof describeTree>> {
    // Every host as a bootstrap address: host0 is the network's first node (no bootstrap of its
    // own), and when it is the host the second test kills and restarts, it knows nobody until
    // others contact it again, so a new machine joining through it alone found no one and no
    // root record (about half the runs once the failed upload was placed within the backup).
    const fresh = await PeerProcess.start(name, config(path.join(root, name), hosts.map((h) => h.address), { recoveryKey: owner.recoveryKey, clockOffsetMs: offset }));
    try {
      const dest = path.join(root, `${name}-restored`);
      const r = await fresh.ask<{ files: number; incomplete: string[] }>({ cmd: 'restore', snapshot, dest });
      expect(r.incomplete).to.deep.equal([]);
      return describeTree(dest);
    } finally {
      await fresh.stop();
    }
  }

  before(async () => {
    mkdirSync(source);
    for (let i = 0; i < 4; i++) writeFileSync(path.join(source, `file-${i}.bin`), randomBytes(700 * 1024));
    hosts.push(await PeerProcess.start('host0', config(path.join(root, 'host0'), [])));
    for (let i = 1; i < 5; i++) hosts.push(await PeerProcess.start(`host${i}`, config(path.join(root, `host${i}`), [hosts[0]!.address])));
  });
  after(async () => {
    await stopAllProcesses();
    rmSync(root, { recursive: true, force: true });
  });

  it('an owner killed mid-backup restarts consistent, the hosts drop the partial upload, and the backup runs again to the end', async () => {
    // The first shard's three uploads go through; the second shard's are held half sent.
    // One shard placed at a time, so "the first three uploads" are the first shard's.
    const base = config(path.join(root, 'owner'), [hosts[0]!.address]);
    owner = await PeerProcess.start('owner', { ...base, backup: { ...base.backup, placingAtOnce: 1 }, holdUploads: { afterBytes: HELD_AT, skip: 3 } }, { onMessage });
    const running = owner.ask({ cmd: 'backup', path: source, replicas: 3 }).catch((e: Error) => e);
    await until(() => held.length >= 3, 'three uploads of the second shard held', 60_000);
    const targets = hosts.filter((h) => held.some((x) => x.host === h.address));
    expect(targets).to.have.length(3);
    await until(() => targets.every((h) => shardFiles(h.config.dataDir).tmp.length > 0), 'partial uploads on the hosts', 30_000);
    await owner.kill('SIGKILL');
    expect(await running).to.be.instanceOf(Error);
    // The hosts saw the connection die: the partial shard goes, the reservation stays until it lapses.
    await until(() => targets.every((h) => shardFiles(h.config.dataDir).tmp.length === 0), 'hosts to drop the partial uploads', 30_000);
    for (const h of targets) {
      const contracts = await checkReservations(h);
      const interrupted = contracts.filter((c) => held.some((x) => x.contract === c.id));
      expect(interrupted.map((c) => c.state)).to.deep.equal(['pending']);
      expect(shardFiles(h.config.dataDir).shards).to.not.include(interrupted[0]!.shardHash);
    }

    // The owner restarts on its data dir: SQLite opens, the interrupted shard's local copy and
    // temporary files are gone, the placed shard is still known, no snapshot was recorded.
    owner = await owner.restart({ holdUploads: undefined });
    expect(readdirSync(path.join(root, 'owner', 'backup', 'outbox'))).to.deep.equal([]);
    expect(readdirSync(path.join(root, 'owner', 'backup', 'tmp'))).to.deep.equal([]);
    const index = await owner.ask<{ kind: string }[]>({ cmd: 'backupShards' });
    expect(index.map((s) => s.kind)).to.deep.equal(['data']);
    expect(await owner.ask<unknown[]>({ cmd: 'snapshots' })).to.deep.equal([]);
    const ownerContracts = await owner.ask<ContractInfo[]>({ cmd: 'contracts' });
    expect(ownerContracts.filter((c) => c.state === 'active')).to.have.length(3);

    // Past the upload timeout every reservation of the interrupted shard lapses, on both sides.
    await advance(UPLOAD_TIMEOUT_MS + 1000);
    await Promise.all([owner, ...hosts].map((p) => p.ask({ cmd: 'maintain' })));
    for (const h of hosts) {
      const contracts = await checkReservations(h);
      expect(contracts.filter((c) => c.state === 'pending'), h.name).to.deep.equal([]);
    }
    expect((await owner.ask<ContractInfo[]>({ cmd: 'contracts' })).filter((c) => c.state === 'pending')).to.deep.equal([]);

    // The same backup again: it completes, the shard placed before the crash is not sent again.
    const result = await owner.ask<{ id: string; shortfall: number; uploadedBytes: number; files: number }>({ cmd: 'backup', path: source, replicas: 3 });
    expect(result.shortfall).to.equal(0);
    expect(result.files).to.equal(4);
    expect(result.uploadedBytes).to.be.lessThan(4 * 700 * 1024);
    expect(await restoreOnNewMachine(result.id, 'owner-new-1')).to.deep.equal(describeTree(source));
  });

  it('a host killed mid-upload restarts with no partial shard, and the owner places that replica elsewhere', async () => {
    writeFileSync(path.join(source, 'file-new.bin'), randomBytes(900 * 1024));
    await owner.stop();
    held.length = 0;
    owner = await owner.restart({ holdUploads: { afterBytes: HELD_AT }, clockOffsetMs: offset });
    const running = owner.ask<{ id: string; shortfall: number }>({ cmd: 'backup', path: source, replicas: 3 });
    await until(() => held.length >= 3, 'three uploads of the new shard held', 60_000);
    const victim = hosts.find((h) => held.some((x) => x.host === h.address))!;
    const contractId = held.find((x) => x.host === victim.address)!.contract;
    await until(() => shardFiles(victim.config.dataDir).tmp.length > 0, 'a partial upload on the host', 30_000);

    await victim.kill('SIGKILL');
    expect(shardFiles(victim.config.dataDir).tmp).to.have.length(1);
    await owner.ask({ cmd: 'release' });
    const result = await running;
    // The upload to the dead host failed; it was placed on another host in the same backup.
    expect(result.shortfall).to.equal(0);

    // The host comes back on the same address: the partial file is gone, the shard never
    // appeared under its name, the contract is still pending and then lapses.
    const again = await victim.restart({ clockOffsetMs: offset });
    hosts[hosts.indexOf(victim)] = again;
    expect(shardFiles(again.config.dataDir).tmp).to.deep.equal([]);
    let contracts = await checkReservations(again);
    const interrupted = contracts.find((c) => c.id === contractId)!;
    expect(interrupted.state).to.equal('pending');
    expect(shardFiles(again.config.dataDir).shards).to.not.include(interrupted.shardHash);
    await advance(UPLOAD_TIMEOUT_MS + 1000);
    await again.ask({ cmd: 'maintain' });
    contracts = await checkReservations(again);
    expect(contracts.find((c) => c.id === contractId)!.state).to.equal('released');

    // The owner's keep-alive pass places the missing replica; every shard has three again.
    await owner.ask({ cmd: 'repair' });
    const live = (await owner.ask<ContractInfo[]>({ cmd: 'contracts' })).filter((c) => c.role === 'owner' && c.state === 'active');
    for (const s of await owner.ask<{ hash: string }[]>({ cmd: 'backupShards' })) {
      expect(live.filter((c) => c.shardHash === s.hash), s.hash).to.have.length(3);
    }
    expect(await restoreOnNewMachine(result.id, 'owner-new-2')).to.deep.equal(describeTree(source));
  });
});
