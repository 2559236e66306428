/**
 * bench:ui's peer side: what the page's answers cost a real peer's SQLite with many contracts.
 * The page's own figures (bench/ui.ts) come from routes that answer from arrays; a running peer
 * answers `GET /status` (every 2 s to an open page, and in the overview) and `GET /contracts`
 * (the hosts, guests and overview summaries) from its contracts table. Each is timed both ways:
 * decoding every row's terms (ContractStore.list, what they ran before) and reading the columns
 * only (liveTotals, listPlain, what they run now). Median of 5 after one warm-up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateSigningKeyPair } from '../src/crypto/ed25519.js';
import { ContractStore } from '../src/contracts/store.js';
import { openDatabase } from '../src/storage/database.js';
import { signedContract } from '../test/helpers/host-harness.js';
import { median } from './common.js';

export function measureContractStore(contracts: number): Array<[string, number]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbs-ui-bench-store-'));
  const db = openDatabase(path.join(dir, 'peer.db'));
  try {
    const store = new ContractStore(db);
    const host = generateSigningKeyPair();
    const owner = generateSigningKeyPair();
    db.transaction(() => {
      for (let i = 0; i < contracts; i++) {
        const hash = new Uint8Array(32);
        new DataView(hash.buffer).setUint32(0, i);
        const c = signedContract(host, owner, { hash, root: new Uint8Array(32), size: 16 * 2 ** 20 });
        store.insert({ contract: c, role: i % 2 ? 'owner' : 'host', counterpartAddress: '127.0.0.1:7001', state: i % 3 ? 'active' : 'pending', reservedUntil: null, now: i });
      }
    })();
    const time = (fn: () => unknown): number => {
      fn();
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        fn();
        times.push(performance.now() - t0);
      }
      return median(times);
    };
    return [
      [`GET /status's contract counts, decoding every live row (before) (ms)`, time(() => store.list({ live: true }).filter((c) => c.role === 'owner').length)],
      [`GET /status's contract counts and bytes used, counted in SQL (now) (ms)`, time(() => store.liveTotals())],
      [`GET /contracts, decoding every row (before) (ms)`, time(() => store.list().length)],
      [`GET /contracts, the columns only (now) (ms)`, time(() => store.listPlain().length)],
    ];
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
