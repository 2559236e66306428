/**
 * A host's disk turned read-only by the kernel while the host runs (issue 19): ext4 mounted
 * with errors=remount-ro on a loop device, an error reported through ext4's own sysfs switch.
 * Unlike a read-only bind mount (read-only-host.test.ts), everything is read-only at once,
 * SQLite's open database and WAL included. The host runs in its own process (a crash shows).
 * It must keep proving and serving what it holds, refuse new shards with READ_ONLY, and leave
 * a database that is whole after fsck, on which it starts again with its shard.
 * Needs root; skips, saying why, without it.
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Peer } from '../../src/peer/peer.js';
import { encodeTerms, propose } from '../../src/contracts/contract.js';
import { Accept, Propose, Reject } from '../../src/contracts/messages.js';
import { type NegotiationError, reasonName } from '../../src/contracts/refusals.js';
import type { PeerStatus } from '../../src/peer/status.js';
import { parseAddress } from '../../src/net/address.js';
import { randomFile } from '../helpers/host-harness.js';
import { Ext4Loop } from '../helpers/ext4-loop.js';
import { PeerProcess, stopAllProcesses } from '../helpers/peer-process.js';
import { GiB, MiB, peerOptions, tempDir } from '../helpers/peers.js';

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

describe('faults: a host whose disk the kernel turns read-only (ext4 errors=remount-ro)', function () {
  this.timeout(180_000);
  let disk: Ext4Loop | null = null;
  let owner: Peer | null = null;
  const work = tempDir('dbs-ro-kernel-');

  before(function () {
    const made = Ext4Loop.create(160 * MiB);
    if (typeof made === 'string') {
      console.log(`      skipped: ${made}`);
      this.skip();
    } else disk = made;
  });
  after(async () => {
    await owner?.stop();
    if (owner) rmSync(owner.dataDir, { recursive: true, force: true });
    await stopAllProcesses();
    disk?.remove();
    rmSync(work, { recursive: true, force: true });
  });

  it('keeps proving what it holds, refuses new shards, and its database is whole after fsck', async () => {
    const dataDir = path.join(disk!.dir, 'peer');
    let host = await PeerProcess.start('host', { dataDir, storage: GiB, bootstrap: [], host: '127.0.0.1' });
    owner = await Peer.start(peerOptions({ bootstrap: [host.address] }));
    const held = randomFile(work, MiB + 17);
    const placed = await owner.placeShard(held.file, { replicas: 1 });
    expect(placed.contracts).to.have.length(1);
    const contract = placed.contracts[0]!;

    disk!.triggerError();
    expect(disk!.readOnly).to.equal(true);

    // What it holds: still proven and served, by a host that is still running.
    expect((await owner.audit(contract)).passed).to.equal(true);
    expect((await collect(await owner.fetchShard(contract))).equals(held.data)).to.equal(true);
    // New proposals: refused READ_ONLY (SQLite's write fails with SQLITE_IOERR_WRITE; a probe
    // finds EROFS), not left unanswered; a placement is refused the same way.
    const ask = async () => {
      const p = propose(owner!.signing, {
        host: Buffer.from(host.publicKey, 'hex'),
        shardHash: new Uint8Array(randomBytes(32)),
        shardSize: MiB,
        merkleRoot: new Uint8Array(32),
        durationSeconds: 86_400,
        auditIntervalSeconds: 3600,
        auditSamples: 4,
        ownerOffer: GiB,
        nowSeconds: Math.floor(Date.now() / 1000),
      });
      const answer = await owner!.dht.rpc.requestAny(parseAddress(host.address), Propose, { terms: encodeTerms(p.terms), ownerSignature: p.ownerSignature }, [Accept, Reject]);
      return answer.spec === Accept ? 'ACCEPT' : reasonName((answer.body as { reason: number }).reason);
    };
    expect(await ask()).to.equal('READ_ONLY');
    expect(await ask()).to.equal('READ_ONLY');
    const other = randomFile(work, MiB + 3);
    const refused = await owner.placeShard(other.file, { replicas: 1 }).then(() => null, (e: NegotiationError) => e);
    expect(refused?.refusals.map((r) => r.reason)).to.deep.equal(['TOO_LITTLE_SPACE']);
    const status = await host.ask<PeerStatus>({ cmd: 'status' });
    expect(status.storage).to.deep.include({ free: 0, disk: 'read-only' });
    expect((await owner.audit(contract)).passed).to.equal(true);
    expect(host.alive).to.equal(true);

    // Stopped, the disk checked and mounted again: the database is whole, and the host starts on
    // it with the shard it held.
    await host.stop();
    expect(disk!.repair()).to.be.oneOf([0, 1]);
    expect(disk!.readOnly).to.equal(false);
    const db = new Database(path.join(dataDir, 'peer.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).to.equal('ok');
    db.close();
    host = await PeerProcess.start('host', { dataDir, storage: GiB, bootstrap: [], host: '127.0.0.1', port: host.port });
    expect((await owner.audit(contract)).passed).to.equal(true);
    const again = await owner.placeShard(other.file, { replicas: 1 });
    expect(again.contracts).to.have.length(1);
  });
});
