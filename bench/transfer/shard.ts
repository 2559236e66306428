/**
 * The data of bench:transfer: one pseudo-random shard written and hashed as it goes, and the
 * signed contracts the host needs before our PUT (one per run), stored as pending.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Contract } from '../../src/contracts/contract.js';
import { ContractStore } from '../../src/contracts/store.js';
import type { SigningKeyPair } from '../../src/crypto/ed25519.js';
import { openDatabase } from '../../src/storage/database.js';
import { LEAF_SIZE, ShardHasher } from '../../src/storage/merkle.js';
import { signedContract } from '../../test/helpers/host-harness.js';
import { MiB } from './settings.js';

export interface Shard {
  file: string;
  size: number;
  /** The shard ID (what contracts name). */
  hash: Uint8Array;
  root: Uint8Array;
  /** Plain SHA-256 of the bytes, what the raw SHA-256 rows answer. */
  sha256: Uint8Array;
}

/**
 * Writes `size` bytes: one random MiB over and over, with a counter stamped at the start of
 * every 64 KiB leaf so that no two leaves are equal, hashed as it goes. Holds one MiB, never
 * the shard: fast to make, and the owner's memory stays its own.
 */
export async function writeShard(file: string, size: number): Promise<Shard> {
  const block = randomBytes(MiB);
  const hasher = new ShardHasher();
  const sha256 = createHash('sha256');
  const handle = await fs.open(file, 'wx', 0o600);
  try {
    let leaf = 0;
    for (let off = 0; off < size; off += MiB) {
      const chunk = block.subarray(0, Math.min(MiB, size - off));
      for (let at = 0; at + 4 <= chunk.length; at += LEAF_SIZE) chunk.writeUInt32BE(leaf++, at);
      hasher.update(chunk);
      sha256.update(chunk);
      const { bytesWritten } = await handle.write(chunk, 0, chunk.length, off);
      if (bytesWritten !== chunk.length) throw new Error(`short write to ${file}`);
    }
  } finally {
    await handle.close();
  }
  const d = hasher.digest();
  return { file, size, hash: d.hash, root: d.root, sha256: new Uint8Array(sha256.digest()) };
}

/** MiB/s of `update` over 256 MiB on one core: what verification costs on this machine. */
export function hashSpeed(update: (chunk: Buffer) => void): number {
  const block = randomBytes(MiB);
  const start = performance.now();
  for (let i = 0; i < 256; i++) update(block);
  return 256 / ((performance.now() - start) / 1000);
}

/** One contract per run: a PUT needs a pending contract, and a PUT makes its contract active. */
export function makeContracts(owner: SigningKeyPair, hostKeys: SigningKeyPair, shard: Shard, n: number): Contract[] {
  return Array.from({ length: n }, () => signedContract(hostKeys, owner, shard, { ownerOffer: 2 ** 33 }));
}

/** Stores the contracts as the host would after negotiation, before the host process opens the database. */
export function storePending(dbFile: string, contracts: Contract[]): void {
  const db = openDatabase(dbFile);
  try {
    const store = new ContractStore(db);
    const now = Date.now();
    for (const contract of contracts) {
      store.insert({ contract, role: 'host', counterpartAddress: null, state: 'pending', reservedUntil: now + 86_400_000, now });
    }
  } finally {
    db.close();
  }
}
