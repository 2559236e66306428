/**
 * Failed-audit memory survives restarts (issue 19): a host whose audit shows lost data is
 * cancelled, struck and remembered in the database; after the owner restarts it is still not
 * chosen for any shard, while its refusal strikes follow their own (forgiving) rules.
 */
import { expect } from 'chai';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Peer } from '../../src/peer/peer.js';
import { openDatabase } from '../../src/storage/database.js';
import { HostFailures } from '../../src/contracts/host-failures.js';
import { toHex } from '../../src/util/bytes.js';
import { randomFile } from '../helpers/host-harness.js';
import { MiB, peerOptions, startPeers, stopAll, tempDir } from '../helpers/peers.js';

describe('faults: failed-audit memory across restarts', function () {
  this.timeout(120_000);
  let peers: Peer[] = [];
  const work = tempDir('dbs-audit-memory-');
  after(async () => {
    await stopAll(peers);
    rmSync(work, { recursive: true, force: true });
  });

  it('keeps hosts that failed an audit in the database (pure SQLite, reopened)', () => {
    const dir = tempDir('dbs-failures-db-');
    const file = path.join(dir, 'peer.db');
    const key = new Uint8Array(32).fill(7);
    let db = openDatabase(file);
    new HostFailures(db).record(key, 1000);
    new HostFailures(db).record(key, 2000);
    db.close();
    db = openDatabase(file);
    const failures = new HostFailures(db);
    expect(failures.lostData(key)).to.equal(true);
    expect(failures.lostData(new Uint8Array(32))).to.equal(false);
    expect(failures.list()).to.deep.equal([{ key, failedAudits: 2, firstFailedAt: 1000, lastFailedAt: 2000 }]);
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a host that lost data is not chosen again after the owner restarts', async () => {
    peers = await startPeers(5);
    const owner = peers[0]!;
    const { file } = randomFile(work, 2 * MiB);
    const placed = await owner.placeShard(file, { replicas: 2 });
    expect(placed.contracts).to.have.length(2);
    // The first host overwrites the shard with zeros: every leaf fails the audit.
    const bad = peers.find((p) => toHex(p.publicKey) === toHex(placed.contracts[0]!.counterpart))!;
    const shardFile = bad.shards.shardPath(placed.hash);
    writeFileSync(shardFile, Buffer.alloc(statSync(shardFile).size));
    const outcome = await owner.audit(placed.contracts[0]!);
    expect(outcome.passed).to.equal(false);
    // What the backup keep-alive does with a lost verdict (src/backup/keep-alive.ts via the port).
    owner.contractService.lostData(bad.publicKey);
    await owner.contractService.owner.cancel(placed.contracts[0]!);

    // The owner restarts on its data directory.
    const dataDir = owner.dataDir;
    const recoveryKey = owner.recoveryKey;
    await owner.stop();
    const again = await Peer.start(peerOptions({ dataDir, recoveryKey, bootstrap: [peers[1]!.address] }));
    peers[0] = again;
    expect(again.contractService.store.failures.lostData(bad.publicKey)).to.equal(true);
    // The bad host owes nothing: its strikes are dropped by maintenance, the memory stays.
    await again.contractService.maintain();
    expect(again.ledger().find((l) => l.counterpart === toHex(bad.publicKey))?.strikes ?? 0).to.equal(0);
    expect(again.contractService.store.failures.lostData(bad.publicKey)).to.equal(true);

    // Asked for 4 replicas among 4 hosts, it gets 3: never the one that lost data.
    const more = randomFile(work, MiB);
    const second = await again.placeShard(more.file, { replicas: 4 });
    expect(second.contracts).to.have.length(3);
    expect(second.contracts.map((c) => toHex(c.counterpart))).to.not.include(toHex(bad.publicKey));
    expect(second.refusals.map((r) => r.reason)).to.include('HOST_LOST_DATA');
  });
});
