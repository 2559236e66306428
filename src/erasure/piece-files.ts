/**
 * Shard file ⇄ piece files on disk, stripe by stripe: memory is one stripe (N fragments of
 * `fragmentBytes`), never a shard. Every output is written under a temporary name, fsynced and
 * renamed (piece-io.ts).
 *
 * - `encodePieceFiles`: a shard file into its N piece files, each with its Merkle root and ID
 *   (storage/merkle.ts), so each piece can be a contract's shard as it stands.
 * - `decodePieceFiles`: any K good piece files back into the shard file.
 * - `rebuildPieceFiles`: lost pieces back from any K good ones (repair).
 *
 * Decoding and rebuilding take every candidate piece with the Merkle root it was stored under,
 * use K of them (data pieces first), hash what they read, and if a piece's root turns out
 * wrong, drop it and start over with another: a corrupted piece is never believed, and the
 * output is renamed into place only after every piece it came from has checked out.
 */
import { promises as fs } from 'node:fs';
import { ShardHasher } from '../storage/merkle.js';
import { chooseSources, codeStripe, range, Stripe, stripeBytes } from './codec.js';
import { ErasureError } from './errors.js';
import { checkPieceIndex, type ErasureScheme, layoutFor, type PieceLayout, shardRangeOf, stripeRange } from './layout.js';
import { abortAll, commitAll, readAt, TempOutput } from './piece-io.js';

/** A piece as written: where, its size, Merkle root and ID (SHA-256(0x02 ‖ size ‖ root)). */
export interface PieceFile {
  index: number;
  path: string;
  size: number;
  root: Uint8Array;
  id: Uint8Array;
}

/**
 * How outputs are written. `durable` (default true): fsynced before and after the rename. False
 * for outputs that are temporary themselves (the backup engine's pieces before upload, a shard
 * decoded to be read once): an fsync each there cost a backup of 64 MiB coded 2/4 a third of
 * its time on this machine (docs/benchmarks.md, erasure-backup).
 */
export interface WriteOptions {
  durable?: boolean;
}

/** A piece offered to a decode or a rebuild, with the Merkle root it must have. */
export interface PieceSource {
  index: number;
  path: string;
  root: Uint8Array;
}

/** A candidate piece not used, and why. */
export interface RejectedPiece {
  index: number;
  reason: string;
}

/** Cuts the shard file at `shardPath` into N piece files at `piecePath(i)`. */
export async function encodePieceFiles(
  shardPath: string,
  scheme: ErasureScheme,
  piecePath: (index: number) => string,
  options: WriteOptions = {},
): Promise<{ layout: PieceLayout; pieces: PieceFile[] }> {
  const shard = await fs.open(shardPath, 'r');
  const outputs: TempOutput[] = [];
  try {
    const layout = layoutFor(scheme, (await shard.stat()).size);
    const { k, n } = layout;
    for (let i = 0; i < n; i++) outputs.push(await TempOutput.open(piecePath(i)));
    const hashers = range(0, n).map(() => new ShardHasher());
    const stripe = new Stripe(layout, stripeBytes(layout));
    for (let s = 0; s < layout.stripes; s++) {
      const { offset, length } = stripeRange(layout, s);
      await Promise.all(
        range(0, k).map((i) => {
          const { shardOffset, bytes } = shardRangeOf(layout, i, offset, length);
          const fragment = stripe.fragment(i, length);
          fragment.fill(0, bytes);
          return bytes > 0 ? readAt(shard, fragment.subarray(0, bytes), shardOffset) : 0;
        }),
      );
      await codeStripe(stripe, length, range(0, k), range(k, n));
      await Promise.all(range(0, n).map((i) => writeAndHash(outputs[i]!, hashers[i]!, stripe.fragment(i, length), offset)));
    }
    await commitAll(outputs, range(0, n).map(() => layout.pieceSize), options.durable);
    const pieces = hashers.map((h, index) => {
      const digest = h.digest();
      return { index, path: outputs[index]!.target, size: digest.size, root: digest.root, id: digest.hash };
    });
    return { layout, pieces };
  } catch (err) {
    await abortAll(outputs);
    throw err;
  } finally {
    await shard.close();
  }
}

/**
 * Writes the shard of `shardSize` bytes to `shardPath` from K of the `candidates` (more may be
 * given: they stand in for any that fail). Returns the pieces used and those rejected.
 * TOO_FEW_PIECES when fewer than K check out.
 */
export async function decodePieceFiles(
  candidates: readonly PieceSource[],
  scheme: ErasureScheme,
  shardSize: number,
  shardPath: string,
  options: WriteOptions = {},
): Promise<{ used: number[]; rejected: RejectedPiece[] }> {
  const layout = layoutFor(scheme, shardSize);
  const output = await TempOutput.open(shardPath);
  try {
    const result = await reconstruct(layout, candidates, range(0, layout.k), async (index, fragment, offset) => {
      const { shardOffset, bytes } = shardRangeOf(layout, index, offset, fragment.length);
      if (bytes > 0) await output.write(fragment.subarray(0, bytes), shardOffset);
    }, () => output.truncate());
    await commitAll([output], [shardSize], options.durable);
    return result;
  } catch (err) {
    await output.abort();
    throw err;
  }
}

/**
 * Rebuilds the pieces `targets` at `piecePath(i)` from K of the `candidates` (a repair).
 * Returns the new pieces with their roots, the pieces used and those rejected.
 */
export async function rebuildPieceFiles(
  candidates: readonly PieceSource[],
  scheme: ErasureScheme,
  shardSize: number,
  targets: readonly number[],
  piecePath: (index: number) => string,
  options: WriteOptions = {},
): Promise<{ pieces: PieceFile[]; used: number[]; rejected: RejectedPiece[] }> {
  const layout = layoutFor(scheme, shardSize);
  for (const t of targets) checkPieceIndex(layout, t);
  const wanted = [...new Set(targets)].sort((a, b) => a - b);
  const outputs: TempOutput[] = [];
  try {
    for (const t of wanted) outputs.push(await TempOutput.open(piecePath(t)));
    let hashers = new Map<number, ShardHasher>();
    const result = await reconstruct(
      layout,
      candidates.filter((c) => !wanted.includes(c.index)),
      wanted,
      (index, fragment, offset) => writeAndHash(outputs[wanted.indexOf(index)]!, hashers.get(index)!, fragment, offset),
      async () => {
        hashers = new Map(wanted.map((t) => [t, new ShardHasher()]));
      },
    );
    await commitAll(outputs, outputs.map(() => layout.pieceSize), options.durable);
    const pieces = wanted.map((index, i) => {
      const digest = hashers.get(index)!.digest();
      return { index, path: outputs[i]!.target, size: digest.size, root: digest.root, id: digest.hash };
    });
    return { pieces, ...result };
  } catch (err) {
    await abortAll(outputs);
    throw err;
  }
}

/** Receives fragment `offset..` of piece `index` (a wanted one, read or rebuilt). */
type FragmentSink = (index: number, fragment: Buffer, offset: number) => Promise<void>;

/**
 * The shared loop of decode and rebuild: tries K candidates at a time until one set checks
 * out, sending every stripe's fragments of the `wanted` pieces to `sink`. `restart` is called
 * before each attempt (the sink starts over).
 */
async function reconstruct(
  layout: PieceLayout,
  candidates: readonly PieceSource[],
  wanted: readonly number[],
  sink: FragmentSink,
  restart: () => Promise<void>,
): Promise<{ used: number[]; rejected: RejectedPiece[] }> {
  const rejected: RejectedPiece[] = [];
  const open = new Map<number, { source: PieceSource; handle: fs.FileHandle }>();
  try {
    for (const c of candidates) {
      checkPieceIndex(layout, c.index);
      if (open.has(c.index)) continue;
      const handle = await fs.open(c.path, 'r').catch((err: NodeJS.ErrnoException) => {
        rejected.push({ index: c.index, reason: `cannot open: ${err.code ?? err.message}` });
        return null;
      });
      if (!handle) continue;
      const size = (await handle.stat()).size;
      if (size !== layout.pieceSize) {
        await handle.close();
        rejected.push({ index: c.index, reason: `${size} bytes, expected ${layout.pieceSize}` });
        continue;
      }
      open.set(c.index, { source: c, handle });
    }
    for (;;) {
      const sources = chooseOrThrow([...open.keys()], layout.k, rejected);
      await restart();
      const bad = await runStripes(layout, sources, wanted, (i) => open.get(i)!, sink);
      if (bad.length === 0) return { used: sources, rejected };
      for (const index of bad) {
        rejected.push({ index, reason: 'Merkle root mismatch' });
        await open.get(index)!.handle.close();
        open.delete(index);
      }
    }
  } finally {
    await Promise.all([...open.values()].map((o) => o.handle.close().catch(() => undefined)));
  }
}

/** One pass over every stripe; returns the sources whose Merkle root did not match. */
async function runStripes(
  layout: PieceLayout,
  sources: number[],
  wanted: readonly number[],
  pieceOf: (index: number) => { source: PieceSource; handle: fs.FileHandle },
  sink: FragmentSink,
): Promise<number[]> {
  const hashers = new Map(sources.map((s) => [s, new ShardHasher()]));
  const targets = wanted.filter((w) => !sources.includes(w));
  const stripe = new Stripe(layout, stripeBytes(layout));
  for (let s = 0; s < layout.stripes; s++) {
    const { offset, length } = stripeRange(layout, s);
    await Promise.all(
      sources.map(async (i) => {
        const fragment = stripe.fragment(i, length);
        const got = await readAt(pieceOf(i).handle, fragment, offset);
        if (got !== length) throw new ErasureError('PIECE_MISMATCH', `piece ${i} ended early (changed while read)`, i);
        hashers.get(i)!.update(fragment);
      }),
    );
    await codeStripe(stripe, length, sources, targets);
    for (const w of wanted) await sink(w, stripe.fragment(w, length), offset);
  }
  return sources.filter((i) => !Buffer.from(hashers.get(i)!.digest().root).equals(pieceOf(i).source.root));
}

function chooseOrThrow(available: number[], k: number, rejected: readonly RejectedPiece[]): number[] {
  try {
    return chooseSources(available, k);
  } catch (err) {
    if (!(err instanceof ErasureError) || rejected.length === 0) throw err;
    const why = rejected.map((r) => `piece ${r.index}: ${r.reason}`).join('; ');
    throw new ErasureError('TOO_FEW_PIECES', `${err.message} (${why})`);
  }
}

async function writeAndHash(output: TempOutput, hasher: ShardHasher, fragment: Buffer, offset: number): Promise<void> {
  hasher.update(fragment);
  await output.write(fragment, offset);
}
