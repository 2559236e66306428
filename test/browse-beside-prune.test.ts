/**
 * Browsing while a prune runs (src/backup/browse-gate.ts), with real peers on loopback (an
 * owner and 3 hosts): a `find` over every snapshot, begun before a snapshot is forgotten and
 * pruned, lists that snapshot's entries too instead of failing on its shards gone; an `ls`
 * begun during the prune's removal waits for it and lists the kept snapshot; afterwards
 * everything kept is still browsable. And BrowseGate itself on a manual clock: a walk that is
 * never ended holds a removal back for the wait limit only.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BrowseGate } from '../src/backup/browse-gate.js';
import type { PruneStep } from '../src/backup/prune.js';
import type { Peer, PeerOptions } from '../src/peer/peer.js';
import { ManualClock } from '../src/util/clock.js';
import { MiB, startPeers, stopAll, tempDir } from './helpers/peers.js';

const FAST: Partial<PeerOptions> = {
  dht: { maxPerIpPerBucket: Infinity, rateLimit: null, lookupTimeoutMs: 1000, requestTimeoutMs: 1000, retries: 0 },
  backup: { shardSize: 1 * MiB, chunkSizes: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }, hostGraceMs: 0 },
};

describe('browsing beside a prune (owner + 3 real hosts)', function () {
  this.timeout(120_000);
  let peers: Peer[] = [];
  let owner: Peer;
  const source = tempDir('dbs-browse-prune-src-');
  const ids: string[] = [];

  before(async () => {
    mkdirSync(path.join(source, 'keep'), { recursive: true });
    writeFileSync(path.join(source, 'keep', 'stable.bin'), randomBytes(200 * 1024));
    peers = await startPeers(4, FAST);
    owner = peers[0]!;
    for (let i = 0; i < 3; i++) {
      // Each snapshot has its own churn file: the oldest one's trees and file go with it.
      writeFileSync(path.join(source, 'churn.bin'), randomBytes(300 * 1024));
      const r = await owner.backup(source, { replicas: 3 });
      expect(r.shortfall).to.equal(0);
      ids.push(r.id);
    }
  });
  after(() => stopAll(peers));

  it('a find begun before forget + prune lists every snapshot it began with; an ls begun during the removal waits and succeeds', async () => {
    const [oldest, middle, newest] = ids as [string, string, string];
    const walk = owner.find('*.bin')[Symbol.asyncIterator]();
    const found: string[] = [];
    const first = await walk.next();
    found.push(`${first.value!.snapshot}:${first.value!.path}`);
    await owner.forget({ ids: [oldest] });

    const steps: PruneStep[] = [];
    let waiting!: () => void;
    const waits = new Promise<void>((resolve) => (waiting = resolve));
    const pruning = owner.prune({ maxUnusedPercent: 0, onStep: (s) => (steps.push(s), s === 'waiting-for-browsing' && waiting()) });
    // The prune goes as far as it may while the find is open: up to its removal (without the
    // gate it would run to its end here).
    await Promise.race([waits, pruning]);
    expect(steps).to.include('waiting-for-browsing');
    expect(steps).to.not.include('forgotten-shards');
    // A walk begun now waits until the removal is over, then reads the index as it is after it.
    const listing = (async () => {
      const out: string[] = [];
      for await (const e of owner.ls(middle, '', { recursive: true })) out.push(e.path);
      return out;
    })();
    for (let r = await walk.next(); !r.done; r = await walk.next()) found.push(`${r.value.snapshot}:${r.value.path}`);
    expect(found).to.deep.equal([newest, middle, oldest].flatMap((id) => [`${id}:churn.bin`, `${id}:keep/stable.bin`]));

    const done = await pruning;
    expect(done.removedShards).to.be.greaterThan(0);
    expect(steps).to.include('forgotten-shards');
    expect(await listing).to.deep.equal(['churn.bin', 'keep', 'keep/stable.bin']);
    // Afterwards: the kept ones browse, the forgotten one is unknown.
    const changes = [];
    for await (const c of owner.diff(middle, newest)) changes.push(`${c.kind}:${c.path}`);
    expect(changes).to.deep.equal(['changed:churn.bin']);
    const after: string[] = [];
    for await (const f of owner.find('*.bin')) after.push(f.snapshot);
    expect(after).to.deep.equal([newest, newest, middle, middle]);
  });
});

describe('BrowseGate', () => {
  it('a removal waits for open walks, holds new ones back, and gives up on a walk never ended after the wait limit', async () => {
    const clock = new ManualClock();
    const gate = new BrowseGate(clock);
    const order: string[] = [];
    const leave = await gate.enter();
    let waited = false;
    const removal = gate.removal(async () => void order.push('removal'), 1000, () => (waited = true));
    const later = gate.enter().then((l) => (order.push('later walk'), l));
    await new Promise((r) => setImmediate(r));
    expect(waited).to.equal(true);
    expect(order).to.deep.equal([]);
    leave();
    await removal;
    (await later)();
    expect(order).to.deep.equal(['removal', 'later walk']);
    expect(gate.walks).to.equal(0);

    // A walk nobody ends: the removal goes ahead once the wait limit has passed on the clock.
    await gate.enter();
    let ran = false;
    const stuck = gate.removal(async () => void (ran = true), 1000, () => {});
    await new Promise((r) => setImmediate(r));
    clock.advance(999);
    await new Promise((r) => setImmediate(r));
    expect(ran).to.equal(false);
    clock.advance(1);
    await stuck;
    expect(ran).to.equal(true);
  });
});
