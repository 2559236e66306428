import { expect } from 'chai';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { generateSigningKeyPair } from '../src/crypto/ed25519.js';
import { ContractStore } from '../src/contracts/store.js';
import { openDatabase } from '../src/storage/database.js';
import { BackupIndex } from '../src/backup/index-db.js';
import { signedContract } from './helpers/host-harness.js';
import { tempDir } from './helpers/peers.js';

describe('contract store: ended contracts are forgotten after the retention period', function () {
  this.timeout(10_000);

  it('deletes only ended contracts older than the cut-off, with their audit records', () => {
    const dir = tempDir();
    const db = openDatabase(path.join(dir, 'peer.db'));
    try {
      const store = new ContractStore(db);
      const index = new BackupIndex(db);
      const host = generateSigningKeyPair();
      const owner = generateSigningKeyPair();
      const make = (state: 'active' | 'cancelled' | 'expired' | 'released' | 'pending', updatedAt: number) => {
        const c = signedContract(host, owner, { hash: new Uint8Array(32).fill(Math.floor(Math.random() * 256)), root: new Uint8Array(32), size: 1000 });
        store.insert({ contract: c, role: 'owner', counterpartAddress: '127.0.0.1:1', state, reservedUntil: null, now: updatedAt });
        index.setHealth(c.id, updatedAt, null);
        return c.id;
      };
      const oldCancelled = make('cancelled', 1000);
      const oldExpired = make('expired', 1000);
      const oldReleased = make('released', 1000);
      const oldActive = make('active', 1000);
      const oldPending = make('pending', 1000);
      const recentCancelled = make('cancelled', 5000);
      expect(store.purgeEnded(2000)).to.equal(3);
      for (const id of [oldCancelled, oldExpired, oldReleased]) {
        expect(store.get(id)).to.equal(undefined);
        expect(index.health(id).lastAuditAt).to.equal(null);
      }
      for (const id of [oldActive, oldPending, recentCancelled]) expect(store.get(id)).to.not.equal(undefined);
      expect(index.health(oldActive).lastAuditAt).to.equal(1000);
      expect(store.purgeEnded(2000)).to.equal(0);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
