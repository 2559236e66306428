/**
 * A shard assembled from its pieces in one file: piece i is written at i × P (P the piece size),
 * so the K data pieces side by side are the shard itself followed by the last piece's zero
 * padding, and parity pieces, when one is fetched, lie past the shard's end. The file is then
 * cut to the shard's size. Nothing here fetches: src/backup/piece-fetch.ts streams the pieces in.
 *
 * - `decodeInPlace`: the missing data pieces rebuilt stripe by stripe from K pieces in the file,
 *   written into their places, the file cut to the shard and hashed (on the erasure worker).
 */
import { promises as fs } from 'node:fs';
import { ShardHasher, type ShardDigest } from '../storage/merkle.js';
import { codeStripe, range, Stripe, stripeBytes } from './codec.js';
import { ErasureError } from './errors.js';
import { checkPieceIndex, isDataPiece, type ErasureScheme, layoutFor, type PieceLayout, stripeRange } from './layout.js';
import { readAt } from './piece-io.js';
import { writeFully } from '../util/write-fully.js';

/** Where piece `index` starts in the assembly file. */
export function pieceOffset(layout: Pick<PieceLayout, 'pieceSize'>, index: number): number {
  return index * layout.pieceSize;
}

/**
 * Rebuilds the data pieces missing from `sources` (K pieces present in `file`, each already
 * verified against its Merkle root) into their places, cuts the file to the shard's size and
 * returns the shard's digest. Memory: one stripe.
 */
export async function decodeInPlace(file: string, scheme: ErasureScheme, shardSize: number, sources: readonly number[]): Promise<ShardDigest> {
  const layout = layoutFor(scheme, shardSize);
  const used = [...new Set(sources)].sort((a, b) => a - b);
  for (const s of used) checkPieceIndex(layout, s);
  if (used.length !== layout.k) throw new ErasureError('TOO_FEW_PIECES', `${used.length} pieces given, ${layout.k} needed`);
  const targets = range(0, layout.k).filter((i) => !used.includes(i));
  const handle = await fs.open(file, 'r+');
  try {
    if (targets.length > 0) {
      const stripe = new Stripe(layout, stripeBytes(layout));
      for (let s = 0; s < layout.stripes; s++) {
        const { offset, length } = stripeRange(layout, s);
        await Promise.all(used.map((i) => readAt(handle, stripe.fragment(i, length), pieceOffset(layout, i) + offset)));
        await codeStripe(stripe, length, used, targets);
        for (const t of targets) if (isDataPiece(layout, t)) await writeFully(handle, stripe.fragment(t, length), pieceOffset(layout, t) + offset);
      }
    }
    await handle.truncate(shardSize);
    const hasher = new ShardHasher();
    const buffer = Buffer.alloc(Math.min(Math.max(shardSize, 1), 1024 * 1024));
    for (let at = 0; at < shardSize; at += buffer.length) {
      const got = await readAt(handle, buffer, at);
      hasher.update(buffer.subarray(0, Math.min(got, shardSize - at)));
    }
    return hasher.digest();
  } finally {
    await handle.close();
  }
}
