import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { Peer } from '../src/peer/peer.js';
import { contractIdFromEncoded } from '../src/contracts/contract.js';
import { Propose, Reject } from '../src/contracts/messages.js';
import { RejectReason } from '../src/contracts/policy.js';
import { toHex } from '../src/util/bytes.js';
import { ManualClock } from '../src/util/clock.js';
import { randomFile } from './helpers/host-harness.js';
import { MiB, startPeers, stopAll, tempDir, withClock } from './helpers/peers.js';

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

describe('peers placing shards (UDP contracts + TCP transfer)', function () {
  this.timeout(60_000);
  const work = tempDir('dbs-files-');
  let peers: Peer[] = [];
  afterEach(() => stopAll(peers));

  it('places a shard on 3 hosts in parallel, audits them and fetches it back', async () => {
    peers = await startPeers(5);
    const owner = peers[0]!;
    const { file, data } = randomFile(work, 5 * MiB + 7);
    const placed = await owner.placeShard(file, { replicas: 3 });
    expect(placed.contracts).to.have.length(3);
    expect(placed.failedUploads).to.deep.equal([]);
    for (const c of placed.contracts) {
      expect(c.state).to.equal('active');
      const host = peers.find((p) => toHex(p.publicKey) === toHex(c.counterpart))!;
      expect(existsSync(host.shards.shardPath(placed.hash))).to.equal(true);
      expect(host.contracts().find((x) => x.id === toHex(c.contract.id))!.state).to.equal('active');
      expect((await owner.audit(c)).passed).to.equal(true);
      expect((await collect(await owner.fetchShard(c))).equals(data)).to.equal(true);
    }
    // The spare acceptance was cancelled, and that host dropped nothing it needed.
    expect(peers.slice(1).reduce((n, p) => n + p.status().contracts.host, 0)).to.equal(3);
  });

  it("deletes a defaulter's shards from disk once the grace period has passed", async () => {
    const clock = new ManualClock();
    const GRACE = 3600_000;
    peers = await startPeers(2, { clock, contracts: { graceMs: GRACE, uploadTimeoutMs: GRACE * 10 }, maintenanceIntervalMs: 365 * 86_400_000 });
    const [host, freeloader] = peers as [Peer, Peer];
    freeloader.dht.rpc.handle(Propose, (body) => ({ spec: Reject, body: { contractId: contractIdFromEncoded(body.terms), reason: RejectReason.NO_SPACE } }));
    const { file } = randomFile(work, 2 * MiB);
    const placed = await freeloader.placeShard(file, { replicas: 1 });
    expect(placed.contracts).to.have.length(1);
    expect(existsSync(host.shards.shardPath(placed.hash))).to.equal(true);

    const { file: mine } = randomFile(work, MiB);
    await host.placeShard(mine, { replicas: 1 }).catch(() => {});
    clock.advance(GRACE);
    await withClock(clock, host.maintain());
    expect(host.ledger().find((l) => l.counterpart === toHex(freeloader.publicKey))!.defaulterSince).to.not.equal(null);
    expect(existsSync(host.shards.shardPath(placed.hash))).to.equal(false);
    expect(freeloader.contracts().map((c) => c.state)).to.deep.equal(['cancelled']);
  });
});
