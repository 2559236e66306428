/**
 * Contracts known only by host and ID (a recovered head shard's): which prune cancels, what
 * stays when a host cannot be found or does not answer, and when they are given up. Real SQLite
 * (migration 6); the hosts are stand-ins (retention-e2e.test.ts has them for real).
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { UNRECORDED_GIVE_UP_MS } from '../src/backup/constants.js';
import { cancelUnrecorded } from '../src/backup/prune-unrecorded.js';
import { UnrecordedContracts } from '../src/backup/unrecorded-contracts.js';
import type { StoredContract } from '../src/contracts/store.js';
import { openDatabase } from '../src/storage/database.js';
import { toHex } from '../src/util/bytes.js';
import { tempDir } from './helpers/temp.js';

describe('contracts known only by ID (prune-unrecorded)', () => {
  it('cancels those whose shard is gone or kept by enough recorded contracts; keeps the rest, and unanswered ones until given up', async () => {
    const dir = tempDir('dbs-unrecorded-');
    const db = openDatabase(path.join(dir, 'peer.db'));
    try {
      const table = new UnrecordedContracts(db);
      const [gone, covered, short, away] = [0, 1, 2, 3].map(() => ({ id: randomBytes(32), host: randomBytes(32), shard: randomBytes(32) }));
      const t0 = 1_700_000_000_000;
      table.add([gone!, covered!, short!, away!], t0);
      table.add([gone!], t0 + 5); // twice: kept once
      // `gone`'s shard left the index; `covered` and `away` have 3 recorded live contracts of 3 wanted, `short` 1.
      const shards = new Map([covered, short, away].map((c) => [toHex(c!.shard), { replicas: 3 }]));
      const live = new Map([[toHex(covered!.shard), 3], [toHex(short!.shard), 1], [toHex(away!.shard), 3]]);
      const asked: string[] = [];
      const deps = {
        index: { shard: (h: Uint8Array) => shards.get(toHex(h)) as never },
        unrecorded: table,
        locator: { liveContracts: (h: Uint8Array) => Array.from({ length: live.get(toHex(h)) ?? 0 }) as StoredContract[] },
        // `away`'s host publishes no peer record.
        peers: { find: async (host: Uint8Array) => (toHex(host) === toHex(away!.host) ? null : { host: '127.0.0.1', port: 1 }) },
        contracts: { cancelById: async (id: Uint8Array) => (asked.push(toHex(id)), true) },
      };
      expect(await cancelUnrecorded(deps, t0 + 1000)).to.equal(2);
      expect(asked.sort()).to.deep.equal([toHex(gone!.id), toHex(covered!.id)].sort());
      expect(table.list().map((c) => toHex(c.id)).sort()).to.deep.equal([toHex(short!.id), toHex(away!.id)].sort());
      // A host that does not acknowledge: its row stays for the next prune.
      live.set(toHex(short!.shard), 3);
      const silent = { ...deps, contracts: { cancelById: async () => false } };
      expect(await cancelUnrecorded(silent, t0 + 2000)).to.equal(0);
      expect(table.list()).to.have.length(2);
      // Past the give-up time (the contracts lapsed on their hosts): dropped without asking.
      asked.length = 0;
      expect(await cancelUnrecorded(deps, t0 + UNRECORDED_GIVE_UP_MS)).to.equal(0);
      expect(asked).to.deep.equal([]);
      expect(table.list()).to.deep.equal([]);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
