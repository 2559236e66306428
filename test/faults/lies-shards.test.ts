/**
 * Hosts that lie about the data they keep: one serves a corrupted shard on GET (the owner
 * fails over to another replica), one answers audits without the data (random leaves, a
 * stale leaf, wrong paths, wrong indexes, too few leaves). An audit that fails costs the host
 * the contract and a strike, and the shard is re-replicated elsewhere, never on that host.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, renameSync, readdirSync, writeSync } from 'node:fs';
import path from 'node:path';
import { generateSigningKeyPair } from '../../src/crypto/ed25519.js';
import { toHex } from '../../src/util/bytes.js';
import { Peer, type PeerOptions } from '../../src/peer/peer.js';
import { TransferClient } from '../../src/transfer/client.js';
import { TransferError } from '../../src/transfer/frames.js';
import { LEAF_SIZE } from '../../src/storage/merkle.js';
import { describeShard } from '../helpers/host-harness.js';
import { LiarHost, type Lie } from '../helpers/liars.js';
import { MiB, startPeers, stopAll, tempDir } from '../helpers/peers.js';
import { describeTree, makeSampleTree } from '../helpers/trees.js';

/** Small chunks and shards, audits of every leaf on every pass (as in test/backup.test.ts). */
const FAST: Partial<PeerOptions> = {
  dht: { maxPerIpPerBucket: Infinity, rateLimit: null, lookupTimeoutMs: 1000, requestTimeoutMs: 1000, retries: 0 },
  backup: { shardSize: 1 * MiB, chunkSizes: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }, hostGraceMs: 0 },
  contracts: { auditIntervalSeconds: 0, auditSamples: 64 },
};

function flipByte(file: string, at: number): void {
  const fd = openSync(file, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, at);
  writeSync(fd, Buffer.from([b[0]! ^ 0x55]), 0, 1, at);
  closeSync(fd);
}

describe('lies: hosts that do not keep what they promised', function () {
  this.timeout(120_000);

  describe('a lying host, met directly', () => {
    const data = randomBytes(20 * LEAF_SIZE + 999);
    const d = describeShard(data);
    const target = { id: randomBytes(32), terms: { shardHash: d.hash, shardSize: d.size, merkleRoot: d.root } };
    const client = new TransferClient(generateSigningKeyPair());

    for (const lie of ['random-leaf', 'stale-leaf', 'wrong-path', 'wrong-index', 'fewer-leaves'] as Lie[]) {
      it(`fails an audit answered with ${lie}`, async () => {
        const liar = await LiarHost.listen(0, new Map([[toHex(d.hash), data]]), lie);
        try {
          const outcome = await client.audit({ host: '127.0.0.1', port: liar.port }, target, 8);
          expect(outcome.passed).to.equal(false);
          expect(outcome.reason).to.match(/does not verify|proved 7 of 8/);
          expect(liar.audits).to.equal(1);
        } finally {
          await liar.close();
        }
      });
    }

    it('never hands out a corrupted shard as good', async () => {
      const liar = await LiarHost.listen(0, new Map([[toHex(d.hash), data]]), 'corrupt-get');
      try {
        const stream = await client.get({ host: '127.0.0.1', port: liar.port }, target);
        const err = await (async () => {
          for await (const _ of stream) {
            // Drain; the verdict comes at the end.
          }
        })().catch((e: unknown) => e);
        expect(err).to.be.instanceOf(TransferError);
        expect((err as TransferError).code).to.equal('VERIFY');
      } finally {
        await liar.close();
      }
    });
  });

  /** A fresh network per test: hosts caught lying in one must not shrink the next one's choice. */
  describe('in a backup network of real peers', () => {
    let peers: Peer[] = [];
    let owner: Peer;
    let snapshot: string;
    const source = tempDir('dbs-src-');
    makeSampleTree(source, 2);
    beforeEach(async () => {
      peers = await startPeers(6, FAST);
      owner = peers[0]!;
      snapshot = (await owner.backup(source, { replicas: 2 })).id;
    });
    afterEach(() => stopAll(peers));

    const hostPeer = (key: Uint8Array) => peers.find((p) => toHex(p.publicKey) === toHex(key))!;

    it('restores byte for byte when every replica but the last one tried serves corrupted bytes', async () => {
      const byShard = new Map<string, ReturnType<Peer['contractService']['store']['list']>>();
      for (const c of owner.contractService.store.list({ role: 'owner', live: true })) {
        const k = toHex(c.contract.terms.shardHash);
        byShard.set(k, [...(byShard.get(k) ?? []), c]);
      }
      // The restore tries replicas in this order: all but the last serve a flipped byte.
      const corrupted = new Set<Peer>();
      for (const contracts of byShard.values()) {
        for (const c of contracts.slice(0, -1)) {
          const host = hostPeer(c.counterpart);
          flipByte(host.shards.shardPath(c.contract.terms.shardHash), Math.floor(c.contract.terms.shardSize / 2));
          corrupted.add(host);
        }
      }
      const getsBefore = [...corrupted].reduce((n, p) => n + p.status().transfer.gets, 0);
      // Without the owner's local copies, so every shard really comes over the network.
      const local = path.join(owner.dataDir, 'backup', 'shards');
      const saved = tempDir('dbs-saved-');
      for (const f of readdirSync(local)) renameSync(path.join(local, f), path.join(saved, f));
      try {
        const dest = path.join(tempDir('dbs-dest-'), 'restored');
        const result = await owner.restore(snapshot, dest);
        expect(result.incomplete).to.deep.equal([]);
        expect(describeTree(dest)).to.deep.equal(describeTree(source));
      } finally {
        for (const f of readdirSync(saved)) renameSync(path.join(saved, f), path.join(local, f));
      }
      // The corrupted copies were really served (and refused) before the good ones.
      expect([...corrupted].reduce((n, p) => n + p.status().transfer.gets, 0) - getsBefore).to.be.at.least(1);
    });

    it('cancels, strikes and replaces a host that answers audits without the data, and never places a shard on it again', async () => {
      // A host that still accepts contracts over UDP, but whose TCP side now keeps only the
      // first leaf of each shard and answers every audit with it.
      const held = owner.contractService.store.list({ role: 'owner', live: true }).filter((c) => c.state === 'active');
      // The host holding the most multi-leaf shards (a one-leaf shard is all in its first leaf).
      const multi = new Map<string, number>();
      for (const c of held) if (c.contract.terms.shardSize > LEAF_SIZE) multi.set(toHex(c.counterpart), (multi.get(toHex(c.counterpart)) ?? 0) + 1);
      const [busiest] = [...multi].sort((a, b) => b[1] - a[1])[0]!;
      const liarPeer = peers.find((p) => toHex(p.publicKey) === busiest)!;
      const liarHex = toHex(liarPeer.publicKey);
      const shards = new Map<string, Buffer>();
      for (const c of held.filter((x) => toHex(x.counterpart) === liarHex)) {
        shards.set(toHex(c.contract.terms.shardHash), readFileSync(liarPeer.shards.shardPath(c.contract.terms.shardHash)));
      }
      const internals = liarPeer as unknown as { transferServer: { close(): Promise<void> } };
      await internals.transferServer.close();
      const liar = await LiarHost.listen(liarPeer.address.port, shards, 'stale-leaf');
      try {
        // A shard of one leaf is all in its first leaf: for those the liar does hold the data.
        const lost = [...shards].filter(([, data]) => data.length > LEAF_SIZE).map(([hash]) => hash);
        expect(lost.length).to.be.at.least(1);
        const report = await owner.backupsMaintain();
        expect(liar.audits).to.be.at.least(shards.size);
        expect(report.failed).to.equal(lost.length);
        expect(report.replaced).to.be.at.least(lost.length);
        const mine = owner.contracts().filter((c) => c.role === 'owner');
        // Every contract for a shard the liar lost is cancelled, and none went back to it.
        expect(mine.filter((c) => c.counterpart === liarHex && lost.includes(c.shardHash) && (c.state === 'active' || c.state === 'pending'))).to.deep.equal([]);
        for (const hash of lost) {
          const live = mine.filter((c) => c.shardHash === hash && c.state === 'active');
          expect(live, hash).to.have.length(2);
          expect(live.map((c) => c.counterpart)).not.to.include(liarHex);
        }
        // Not chosen again for anything: no new contract of any shard went to it.
        const since = owner.contracts().filter((c) => c.role === 'owner' && c.counterpart === liarHex && (c.state === 'active' || c.state === 'pending'));
        expect(since.every((c) => !lost.includes(c.shardHash) && held.some((h) => toHex(h.contract.id) === c.id))).to.equal(true);
        expect(owner.ledger().find((l) => l.counterpart === liarHex)!.strikes).to.be.at.least(1);
        // A second pass finds nothing left to do for those shards.
        const again = await owner.backupsMaintain();
        expect(again.failed).to.equal(0);
      } finally {
        await liar.close();
      }
    });
  });
});
