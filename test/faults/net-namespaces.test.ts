/**
 * Peers on distinct IP addresses, as on a real network: each address is a Linux network
 * namespace on one bridge (test/helpers/netns.ts), every peer a process inside one, with the
 * DHT's per-IP limits on (not lifted as on 127.0.0.1). Checks what 127.0.0.1 cannot show:
 *
 * - node IDs are SHA-1 of each peer's real host:port, and a routing table keeps at most 2
 *   contacts of one IP per bucket (3 peers on one IP, ports picked to share a bucket);
 * - the reciprocity allowance is per network prefix: two owners in one /24 share it, an
 *   owner in another /24 has its own;
 * - with nftables dropping 10% of the UDP datagrams every namespace sends (real packets,
 *   below the whole process), a backup completes and a new machine restores it byte for byte.
 *
 * The nftables part runs in the long form (DBS_FAULTS=long) only: every lost datagram costs a
 * real timeout. Needs root, `ip` and `nft`; skips with the reason otherwise. Sets up and removes its
 * namespaces itself.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ContractInfo } from '../../src/contracts/service.js';
import { networkPrefix } from '../../src/contracts/policy.js';
import { commonPrefixLength } from '../../src/dht/id.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { nodeIdFromAddress } from '../../src/net/node-id.js';
import { createLan, type Lan, netnsUnavailable } from '../helpers/netns.js';
import { type PeerChildConfig, PeerProcess, stopAllProcesses } from '../helpers/peer-process.js';
import { GiB, MiB, tempDir, LONG } from '../helpers/peers.js';
import { describeTree } from '../helpers/trees.js';

const OBSERVER = { host: '10.1.1.1', port: 4000 };
/** Three peers share this address. */
const SHARED_IP = '10.1.9.1';
const HOSTS = ['10.1.2.1', '10.1.3.1', '10.1.4.1'];
/** A and B share a /24; C is in another. C2 is C's new machine. */
const OWNERS = { A: '10.1.7.2', B: '10.1.7.3', C: '10.1.8.2', C2: '10.1.8.3' };
const ALLOWANCE = 1.5 * MiB;
const OWNER_STORAGE = 64 * 1024;

/** Ports on SHARED_IP whose node IDs all fall in the observer's bucket 0 (the far half). */
function portsInOneBucket(count: number): number[] {
  const observer = nodeIdFromAddress(OBSERVER);
  const ports: number[] = [];
  for (let port = 20_000; ports.length < count; port++) {
    if (commonPrefixLength(observer, nodeIdFromAddress({ host: SHARED_IP, port })) === 0) ports.push(port);
  }
  return ports;
}

describe('peers on distinct IP addresses (network namespaces)', function () {
  this.timeout(240_000);
  const unavailable = netnsUnavailable(true);
  let lan: Lan | undefined;
  const root = tempDir('dbs-netns-');
  const peers = new Map<string, PeerProcess>();

  function config(name: string, host: string, over: Partial<PeerChildConfig> = {}): PeerChildConfig {
    return {
      dataDir: path.join(root, name),
      host,
      storage: GiB,
      bootstrap: [`${OBSERVER.host}:${OBSERVER.port}`],
      allowance: ALLOWANCE,
      realNetworkLimits: true,
      dht: { lookupTimeoutMs: 1500, requestTimeoutMs: 1500, retries: 1 },
      backup: { shardSize: 2 * MiB, chunkSizes: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 } },
      ...over,
    };
  }

  async function start(name: string, host: string, over: Partial<PeerChildConfig> = {}): Promise<PeerProcess> {
    const p = await PeerProcess.start(name, config(name, host, over), { netns: lan!.namespaceOf(host) });
    peers.set(name, p);
    return p;
  }

  function sourceWith(name: string, bytes: number): string {
    const dir = path.join(root, `src-${name}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${name}.bin`), randomBytes(bytes));
    return dir;
  }

  before(async function () {
    if (unavailable) {
      console.log(`      skipped: ${unavailable}`);
      this.skip();
    }
    lan = createLan([OBSERVER.host, SHARED_IP, ...HOSTS, ...Object.values(OWNERS)]);
    await start('observer', OBSERVER.host, { port: OBSERVER.port, bootstrap: [] });
    for (const [i, port] of portsInOneBucket(3).entries()) await start(`shared${i}`, SHARED_IP, { port, storage: OWNER_STORAGE });
    for (const [i, host] of HOSTS.entries()) await start(`host${i}`, host);
    for (const name of ['A', 'B', 'C'] as const) await start(name, OWNERS[name], { storage: OWNER_STORAGE });
  });
  after(async () => {
    await stopAllProcesses();
    lan?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("derives every node ID from the peer's real host:port, and keeps at most 2 contacts of one IP in a bucket", async () => {
    const observer = peers.get('observer')!;
    const contacts = await observer.ask<{ id: string; host: string; port: number }[]>({ cmd: 'dhtContacts' });
    for (const c of contacts) expect(c.id, `${c.host}:${c.port}`).to.equal(toHex(nodeIdFromAddress(c)));
    // All three peers of SHARED_IP joined through the observer and fall in its bucket 0: two are kept.
    expect(contacts.filter((c) => c.host === SHARED_IP)).to.have.length(2);
    for (const host of [...HOSTS, OWNERS.A, OWNERS.B, OWNERS.C]) expect(contacts.map((c) => c.host), host).to.include(host);

    // The same rule holds in every table, whatever bucket the shared peers fall in elsewhere.
    for (const p of peers.values()) {
      const status = await p.ask<{ nodeId: string }>({ cmd: 'status' });
      const own = fromHex(status.nodeId);
      const perBucketIp = new Map<string, number>();
      for (const c of await p.ask<{ id: string; host: string }[]>({ cmd: 'dhtContacts' })) {
        const key = `${commonPrefixLength(own, fromHex(c.id))}|${c.host}`;
        perBucketIp.set(key, (perBucketIp.get(key) ?? 0) + 1);
      }
      expect(Math.max(...perBucketIp.values()), p.name).to.be.at.most(2);
    }
  });

  it('shares one allowance between two owners of one /24, and gives an owner of another /24 its own', async () => {
    const a = await peers.get('A')!.ask<{ shortfall: number }>({ cmd: 'backup', path: sourceWith('A', 1 * MiB), replicas: 3 });
    expect(a.shortfall, 'A: the first owner of its /24').to.equal(0);
    // B's shard would put the hosts holding A's over the allowance of 10.1.7.0/24: they refuse.
    const b = await peers.get('B')!.ask<{ shortfall: number }>({ cmd: 'backup', path: sourceWith('B', 1 * MiB), replicas: 3 }).catch((e: Error) => e);
    if (!(b instanceof Error)) expect(b.shortfall, 'B: same /24 as A').to.be.greaterThan(0);
    const c = await peers.get('C')!.ask<{ shortfall: number }>({ cmd: 'backup', path: sourceWith('C', 1 * MiB), replicas: 3 });
    expect(c.shortfall, 'C: another /24').to.equal(0);

    // No host keeps more than the allowance, unreciprocated, for one prefix.
    for (const name of ['observer', 'host0', 'host1', 'host2']) {
      const kept = new Map<string, number>();
      for (const ct of await peers.get(name)!.ask<ContractInfo[]>({ cmd: 'contracts' })) {
        if (ct.role !== 'host' || (ct.state !== 'active' && ct.state !== 'pending')) continue;
        const prefix = networkPrefix(ct.counterpartAddress!.split(':')[0]!);
        kept.set(prefix, (kept.get(prefix) ?? 0) + ct.size);
      }
      for (const [prefix, bytes] of kept) expect(bytes, `${name}: ${prefix}`).to.be.at.most(ALLOWANCE);
    }
  });

  it('completes a backup with 10% of UDP datagrams dropped by nftables, and a new machine restores it', async function () {
    // Every lost datagram costs a real timeout: about 30 s, so in the long form only.
    if (!LONG) this.skip();
    lan!.dropUdp(10);
    const owner = peers.get('C')!;
    const source = sourceWith('C-lossy', 300 * 1024);
    const result = await owner.ask<{ id: string; shortfall: number }>({ cmd: 'backup', path: source, replicas: 3 });
    expect(result.shortfall).to.equal(0);
    // C's machine is lost; the new one is in the same /24, with the recovery key only.
    await owner.kill('SIGKILL');
    const fresh = await start('C2', OWNERS.C2, { recoveryKey: owner.recoveryKey, storage: OWNER_STORAGE });
    const dest = path.join(root, 'restored');
    const restored = await fresh.ask<{ incomplete: string[] }>({ cmd: 'restore', snapshot: result.id, dest });
    expect(restored.incomplete).to.deep.equal([]);
    expect(describeTree(dest)).to.deep.equal(describeTree(source));
    expect(lan!.droppedUdp(), 'datagrams dropped by nftables').to.be.greaterThan(0);
  });
});
