/**
 * Prune's rewrite of the whole index as delta pieces in shards of bounded size: a big index
 * (a million chunks is ~45 MB of entries) does not all go into one shard of many times the
 * shard size. The entries of the chunks in the first shard itself (the last repacked one, whose
 * hash is not known yet: "this shard", null) go into it first; then the rest, and whenever the
 * shard being filled has reached `shardSize` it is placed and a new one begun (so a shard holds
 * at most `shardSize` plus one piece). Pieces in shards placed here get their hash; those in the
 * shard still open keep null, like everything the caller packs into it next (the catalog).
 */
import type { BlobLocation } from '../snapshot/catalog-records.js';
import { writeIndexDelta, type WrittenIndexEntry } from '../snapshot/index-delta.js';
import type { PackBlob } from './metadata.js';
import type { ShardWriter } from './shard-writer.js';

export interface BoundedPiecesDeps {
  /** Packs one metadata blob into `writer` (shard null in what it returns). */
  packInto: (writer: ShardWriter) => PackBlob;
  /** A new, empty shard writer. */
  newWriter: () => ShardWriter;
  /** Places a full writer; returns its hash. */
  place: (writer: ShardWriter) => Promise<Uint8Array>;
  shardSize: number;
  pieceBytes: number;
}

/** Writes `own` (entries of chunks in `first`, shard null) then `entries`; returns the open writer and every piece's location. */
export async function writeBoundedPieces(deps: BoundedPiecesDeps, first: ShardWriter, own: Iterable<WrittenIndexEntry>, entries: Iterable<WrittenIndexEntry>): Promise<{ writer: ShardWriter; pieces: BlobLocation[] }> {
  let writer = first;
  const placed: BlobLocation[] = [];
  let open: BlobLocation[] = [];
  const pack = async (plain: Uint8Array): Promise<void> => {
    open.push(await deps.packInto(writer)(plain));
  };
  // All into `first`: their entries say "this shard", so they must be in it.
  await writeIndexDelta(own, pack, { pieceBytes: deps.pieceBytes });
  await writeIndexDelta(
    entries,
    async (plain) => {
      if (writer.size >= deps.shardSize) {
        const hash = await deps.place(writer);
        placed.push(...open.map((p) => ({ ...p, shard: hash })));
        open = [];
        writer = deps.newWriter();
      }
      await pack(plain);
    },
    { pieceBytes: deps.pieceBytes },
  );
  return { writer, pieces: [...placed, ...open] };
}
