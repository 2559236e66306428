/**
 * Crash safety of prune: the owner process SIGKILLed at each step of a prune (after repacking,
 * after the index and catalog rewrite, after forgetting the doomed shards locally, after the
 * first contract cancelled, after the rest were told to their hosts but before they were
 * recorded here), restarted, prunes again: every kept snapshot restores byte for
 * byte, and the hosts end up keeping exactly the contracts the owner still has.
 * The kill is the owner's own (peer-child.ts `pruneKillAt`), so it lands at the step, not near it.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ContractInfo } from '../src/contracts/service.js';
import type { PruneResult, PruneStep } from '../src/backup/prune.js';
import type { SnapshotInfo } from '../src/backup/engine.js';
import { type PeerChildConfig, PeerProcess, stopAllProcesses } from './helpers/peer-process.js';
import { GiB, MiB, tempDir } from './helpers/peers.js';
import { describeTree, type Described } from './helpers/trees.js';

function config(dataDir: string, bootstrap: string[], over: Partial<PeerChildConfig> = {}): PeerChildConfig {
  return {
    dataDir,
    storage: GiB,
    bootstrap,
    allowance: 1024 * GiB,
    dht: { lookupTimeoutMs: 1000, requestTimeoutMs: 1000, retries: 1 },
    backup: { shardSize: 1 * MiB, chunkSizes: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }, hostGraceMs: 0 },
    ...over,
  };
}

const live = (list: ContractInfo[], role: 'owner' | 'host') => list.filter((c) => c.role === role && (c.state === 'pending' || c.state === 'active')).length;

describe('prune killed with SIGKILL at each step', function () {
  this.timeout(240_000);
  const root = tempDir('dbs-prune-crash-');
  const source = path.join(root, 'source');
  let hosts: PeerProcess[] = [];
  let owner: PeerProcess;
  const taken = new Map<string, Described[]>();

  before(async () => {
    mkdirSync(source, { recursive: true });
    writeFileSync(path.join(source, 'stable.bin'), randomBytes(200 * 1024));
    const first = await PeerProcess.start('h1', config(path.join(root, 'h1'), []));
    hosts = [first, ...(await Promise.all([2, 3].map((i) => PeerProcess.start(`h${i}`, config(path.join(root, `h${i}`), [first.address])))))];
    owner = await PeerProcess.start('owner', config(path.join(root, 'owner'), [first.address]));
  });
  after(() => stopAllProcesses());

  async function backup(): Promise<void> {
    writeFileSync(path.join(source, 'churn.bin'), randomBytes(300 * 1024));
    const r = await owner.ask<{ id: string; shortfall: number }>({ cmd: 'backup', path: source, replicas: 3 });
    expect(r.shortfall).to.equal(0);
    taken.set(r.id, describeTree(source));
  }

  for (const step of ['repacked', 'rewritten', 'forgotten-shards', 'cancelled-one', 'cancels-sent'] as PruneStep[]) {
    it(`killed when ${step}: restarted, the next prune finishes, every kept snapshot restores`, async () => {
      await backup();
      await backup();
      await owner.ask({ cmd: 'forget', keepLast: 1 });
      // Restarted with the kill armed (a clean stop first: only the prune is to be killed).
      await owner.stop();
      owner = await owner.restart({ pruneKillAt: step });
      const dry = await owner.ask<PruneResult>({ cmd: 'prune', maxUnused: 0, dryRun: true });
      // The first round's oldest shard mixes the kept file with a forgotten one: it is repacked.
      if (step === 'repacked') expect(dry.plan.repack).to.be.greaterThan(0);
      expect(dry.plan.drop).to.be.greaterThan(0);
      await owner.ask({ cmd: 'prune', maxUnused: 0 }).then(
        () => expect.fail(`the prune was to be killed at ${step}`),
        (err: Error) => expect(err.message).to.match(/SIGKILL/),
      );
      owner = await owner.restart({ pruneKillAt: undefined });
      const done = await owner.ask<PruneResult>({ cmd: 'prune', maxUnused: 0 });
      expect(done.plan.missingChunks).to.equal(0);
      const kept = await owner.ask<SnapshotInfo[]>({ cmd: 'snapshots' });
      expect(kept).to.have.length(1);
      for (const s of kept) {
        const dest = path.join(tempDir('dbs-prune-crash-dest-'), 'r');
        const r = await owner.ask<{ incomplete: string[] }>({ cmd: 'restore', snapshot: s.id, dest });
        expect(r.incomplete).to.deep.equal([]);
        expect(describeTree(dest), s.id).to.deep.equal(taken.get(s.id));
      }
      // Nothing left to cancel, and no host keeps a shard for us that we no longer want.
      const again = await owner.ask<PruneResult>({ cmd: 'prune', maxUnused: 0 });
      expect(again.cancelled).to.equal(0);
      const ours = live(await owner.ask<ContractInfo[]>({ cmd: 'contracts' }), 'owner');
      let theirs = 0;
      for (const h of hosts) theirs += live(await h.ask<ContractInfo[]>({ cmd: 'contracts' }), 'host');
      expect(theirs).to.equal(ours);
    });
  }
});
