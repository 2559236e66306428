/**
 * Two friends behind two home NATs back up to each other, with full peers in the NAT lab
 * (test/helpers/nat-lab.ts: real kernel NATs, cone = nftables masquerade). Three public peers
 * offer no storage (they keep nobody's data): they are bootstrap nodes and rendezvous only. Each
 * home binds 0.0.0.0, learns it is client-only, registers with the rendezvous, and names the other
 * as a friend (by public key, `nat.friends`). A backup then finds the friend by its record,
 * punches to it, signs a contract, uploads over a punched TCP stream; the other way round too;
 * and each restores its files from its friend.
 *
 * Needs root and nftables; skips with the reason otherwise.
 */
import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createNatLab, type Home, type NatLab, natLabUnavailable } from './helpers/nat-lab.js';
import { PeerProcess, stopAllProcesses } from './helpers/peer-process.js';
import { tempDir } from './helpers/peers.js';
import { deriveKeys, formatRecoveryKey, generateRecoverySecret } from '../src/identity/recovery-key.js';
import { toHex } from '../src/util/bytes.js';
import { renderReach } from '../src/cli/render.js';
import type { ReachStatus } from '../src/nat/status.js';

const PORT = 7000;
const MiB = 2 ** 20;

interface Status {
  address: string;
  reach: { reach: string; registeredWith?: string[] };
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, deadlineMs = 30_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}: ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('NAT lab: two friends behind home NATs back up to each other', function () {
  this.timeout(120_000);
  const unavailable = natLabUnavailable();
  const work = tempDir('dbs-nat-friends-');
  let lab: NatLab | undefined;

  after(async () => {
    await stopAllProcesses();
    lab?.close();
  });

  it('each backs up onto the other through punched paths, no public host keeps data, and each restores', async function () {
    if (unavailable) return this.skip();
    lab = createNatLab();
    const pubs: PeerProcess[] = [];
    for (const net of ['198.51.100', '203.0.113', '192.0.2']) {
      const host = lab.addPublicHost(net);
      const bootstrap = pubs.map((p) => `${p.host}:${p.port}`);
      pubs.push(await PeerProcess.start(`pub-${net}`, { dataDir: path.join(work, `pub-${net}`), storage: 0, host: host.address, port: PORT, bootstrap }, { netns: host.ns }));
    }
    const bootstrap = pubs.map((p) => `${p.host}:${p.port}`);
    const secrets = [generateRecoverySecret(), generateRecoverySecret()];
    const keys = secrets.map((s) => toHex(deriveKeys(s).signing.publicKey));
    const homes: Home[] = [lab.addHome('cone', { udpTimeoutSeconds: 10 }), lab.addHome('cone', { udpTimeoutSeconds: 10 })];
    const friends = await Promise.all(
      homes.map((home, i) =>
        PeerProcess.start(
          `home-${i}`,
          {
            dataDir: path.join(work, `home-${i}`),
            storage: 256 * MiB,
            host: '0.0.0.0',
            port: PORT,
            bootstrap,
            recoveryKey: formatRecoveryKey(secrets[i]!),
            dht: { addressQuorum: 2 },
            nat: { mapPort: false, keepaliveIntervalMs: 2000, friends: [keys[1 - i]!] },
          },
          { netns: home.host.ns },
        ),
      ),
    );
    const wans = homes.map((h) => `${h.router.wan}:${PORT}`);
    for (const [i, f] of friends.entries()) {
      const s = await until(`home ${i} to register with its rendezvous`, () => f.ask<Status>({ cmd: 'status' }), (st) => st.reach.registeredWith?.length === 3);
      expect(s.reach.reach).to.equal('client-only');
      expect(s.address).to.equal(wans[i]);
      expect(renderReach(s.reach as ReachStatus)).to.match(/; punchable through (\d+\.\d+\.\d+\.\d+:7000(, )?){3}\)$/);
    }

    const results = [];
    for (const [i, f] of friends.entries()) {
      const src = path.join(work, `src-${i}`);
      mkdirSync(src, { recursive: true });
      writeFileSync(path.join(src, 'letter.txt'), `from friend ${i}\n`.repeat(1000));
      // The record naming the rendezvous may take a keepalive to be republished: retry until the friend is found.
      results.push(await until(`home ${i}'s backup to place its shards`, () => f.ask<{ id: string; shortfall: number }>({ cmd: 'backup', path: src, replicas: 1 }).catch((e: Error) => ({ id: '', shortfall: -1, error: e.message })), (r) => r.shortfall === 0));
    }
    for (const [i, f] of friends.entries()) {
      const contracts = await f.ask<Array<{ role: string; state: string; counterpartAddress: string }>>({ cmd: 'contracts' });
      const mine = contracts.filter((c) => c.role === 'owner');
      expect(mine.length).to.be.greaterThan(0);
      // Every shard of each friend is kept by the other friend, at its home router's address.
      for (const c of mine) expect(c).to.deep.include({ state: 'active', counterpartAddress: wans[1 - i] });
      expect(contracts.filter((c) => c.role === 'host').every((c) => c.counterpartAddress === wans[1 - i])).to.equal(true);
    }
    for (const p of pubs) expect(await p.ask<unknown[]>({ cmd: 'contracts' })).to.deep.equal([]);
    for (const [i, f] of friends.entries()) {
      const dest = path.join(work, `restored-${i}`);
      await f.ask({ cmd: 'restore', snapshot: results[i]!.id, dest });
      expect(readFileSync(path.join(dest, 'letter.txt'), 'utf8')).to.equal(`from friend ${i}\n`.repeat(1000));
    }
  });
});
