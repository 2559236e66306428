/**
 * What one core does: MiB/s of the owner's per-byte steps (chunking, chunk IDs, sealing, opening,
 * shard hashing) in this process, for the report's "where the time goes".
 */
import { createCipheriv, createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Chunker } from '../../src/backup/chunker.js';
import { chunkId, deriveBackupKeys, openInto, SEAL_HEAD, SEAL_OVERHEAD, sealInPlace } from '../../src/backup/crypto.js';
import { ShardHasher } from '../../src/storage/merkle.js';
import { MiB } from './settings.js';

export interface Speeds {
  chunker: number;
  chunkId: number;
  seal: number;
  open: number;
  shardHasher: number;
}

/** MiB/s of the owner's per-byte steps on one core, over 256 MiB of pseudo-random data in memory. */
export async function oneCoreSpeeds(): Promise<Speeds> {
  const n = 256;
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update('speeds').digest(), Buffer.alloc(16));
  const blocks = Array.from({ length: n }, () => cipher.update(Buffer.alloc(MiB)));
  const keys = deriveBackupKeys(new Uint8Array(32).fill(7));
  const rate = (ms: number) => n / (ms / 1000);
  // The chunker as the backup runs it: borrowed chunks (views of the read buffer, or of one
  // reused buffer for chunks that span reads); then once more keeping copies for the steps below.
  let t = performance.now();
  for await (const c of new Chunker(keys.chunkerSeed).split((async function* () {
    yield* blocks;
  })(), { borrow: true })) void c;
  const chunker = rate(performance.now() - t);
  const chunks: Buffer[] = [];
  for await (const c of new Chunker(keys.chunkerSeed).split((async function* () {
    yield* blocks;
  })())) chunks.push(c);
  t = performance.now();
  const ids = chunks.map((c) => chunkId(keys, c));
  const idRate = rate(performance.now() - t);
  // Sealing and opening in place in one slot, as the crypto worker does.
  const slot = Buffer.alloc(Math.max(...chunks.map((c) => c.length)) + SEAL_OVERHEAD + 2 * 4096);
  const sealed: Buffer[] = [];
  let sealTime = 0;
  chunks.forEach((c, i) => {
    c.copy(slot, SEAL_HEAD);
    const start = performance.now();
    const n = sealInPlace(keys, ids[i]!, slot, c.length);
    sealTime += performance.now() - start;
    sealed.push(Buffer.from(slot.subarray(0, n)));
  });
  const sealRate = rate(sealTime);
  let openTime = 0;
  sealed.forEach((c, i) => {
    c.copy(slot, 100);
    const start = performance.now();
    openInto(keys, ids[i]!, slot.subarray(100, 100 + c.length), slot);
    openTime += performance.now() - start;
  });
  const openRate = rate(openTime);
  t = performance.now();
  const hasher = new ShardHasher();
  for (const b of blocks) hasher.update(b);
  hasher.digest();
  return { chunker, chunkId: idRate, seal: sealRate, open: openRate, shardHasher: rate(performance.now() - t) };
}

