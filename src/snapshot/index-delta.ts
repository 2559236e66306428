/**
 * The chunk index as deltas: each backup writes what it added (chunk ID → shard, offset,
 * length) as index pieces, sealed and packed with the data like any blob. The full index lives
 * in the owner's SQLite database; a new machine rebuilds it by applying every delta in order,
 * one piece at a time, so no blob ever holds the whole index and neither does memory.
 *
 * Piece: `{ v: 1, k: 'index', g: [[shard, chunkIds, offsets, lengths], ...] }`, one group per
 * run of entries in the same shard (entries of one backup come shard by shard), `chunkIds` the
 * IDs concatenated (32 B each), `offsets` and `lengths` lists of the same count. A piece is at
 * most `indexPieceBytes` encoded: the writer counts an upper bound of each entry's encoding.
 *
 * Order matters: applying is an upsert where a later entry wins, so a chunk moved to another
 * shard (repacked, or stored again after its shard was dropped) points where it is now.
 * Compaction is the same writer fed with the live index: `writeIndexDelta(sink.entries(), ...)`,
 * recorded in the catalog as a delta that replaces all before it (catalog-records.ts).
 */
import { array, bytes, malformed, uint } from './check.js';
import { DEFAULTS, ID_BYTES } from './constants.js';
import { open, seal } from './envelope.js';

export interface IndexEntry {
  chunk: Uint8Array;
  shard: Uint8Array;
  offset: number;
  length: number;
}

/**
 * An entry as written: `shard: null` means "the shard this piece itself is packed into", for
 * the chunks of the backup's last shard, whose hash is not known until the shard (holding the
 * piece) is finished. Only valid in a piece that lands in that same shard: write the delta at
 * the end of the backup, into its last shard.
 */
export type WrittenIndexEntry = Omit<IndexEntry, 'shard'> & { shard: Uint8Array | null };

/** Where rebuilt entries go (the SQLite index: one transaction per call). */
export interface IndexSink {
  /** One piece's entries, in order; an entry for a chunk already known replaces it. */
  apply(entries: IndexEntry[]): void | Promise<void>;
}

/** Upper bound of one entry's bytes: its ID (32) plus an offset and a length as MessagePack uint64s (9 each). */
const ENTRY_BYTES = ID_BYTES + 9 + 9;
/** Upper bound of a group's own bytes: list header, the shard (bin8 header + 32), three headers of 5. */
const GROUP_BYTES = 1 + 2 + ID_BYTES + 3 * 5;
/** Upper bound of the envelope: map header, `v`, `k: 'index'`, `g` and its list header. */
const ENVELOPE_BYTES = 32;

interface Group {
  shard: Uint8Array | null;
  chunks: Uint8Array[];
  offsets: number[];
  lengths: number[];
}

/**
 * Collects entries into pieces of at most `pieceBytes` and hands each full piece to `save`
 * (which seals and packs it, returning how to find it again, `Ref`). Holds one piece at most.
 */
export class IndexDeltaWriter<Ref> {
  private groups: Group[] = [];
  private bound = ENVELOPE_BYTES;
  private count = 0;
  private readonly refs: Ref[] = [];
  private readonly pieceBytes: number;

  constructor(
    private readonly save: (piece: Uint8Array) => Promise<Ref>,
    options: { pieceBytes?: number } = {},
  ) {
    this.pieceBytes = options.pieceBytes ?? DEFAULTS.indexPieceBytes;
    if (this.pieceBytes < ENVELOPE_BYTES + GROUP_BYTES + ENTRY_BYTES) throw new Error(`index pieces must allow at least one entry (${this.pieceBytes} bytes is too small)`);
  }

  /** Entries written so far, in pieces saved or pending. */
  get entries(): number {
    return this.count;
  }

  async add(entry: WrittenIndexEntry): Promise<void> {
    if (entry.chunk.length !== ID_BYTES || (entry.shard !== null && entry.shard.length !== ID_BYTES)) throw new Error(`index entries need ${ID_BYTES}-byte chunk and shard IDs`);
    let group: Group | undefined = this.groups[this.groups.length - 1];
    const sameShard = group !== undefined && (group.shard === null || entry.shard === null ? group.shard === entry.shard : Buffer.compare(group.shard, entry.shard) === 0);
    const cost = ENTRY_BYTES + (sameShard ? 0 : GROUP_BYTES);
    if (this.bound + cost > this.pieceBytes) {
      await this.flush();
      group = undefined;
    }
    if (!group || !sameShard) {
      group = { shard: entry.shard, chunks: [], offsets: [], lengths: [] };
      this.groups.push(group);
      this.bound += GROUP_BYTES;
    }
    group.chunks.push(entry.chunk);
    group.offsets.push(entry.offset);
    group.lengths.push(entry.length);
    this.bound += ENTRY_BYTES;
    this.count++;
  }

  /** Saves the last piece (if any) and returns every piece's ref, in order. */
  async finish(): Promise<Ref[]> {
    await this.flush();
    return this.refs;
  }

  private async flush(): Promise<void> {
    if (this.groups.length === 0) return;
    const piece = encodeIndexPiece(this.groups);
    this.groups = [];
    this.bound = ENVELOPE_BYTES;
    this.refs.push(await this.save(piece));
  }
}

/** Writes all `entries` as index pieces; returns the pieces' refs in order. */
export async function writeIndexDelta<Ref>(entries: AsyncIterable<WrittenIndexEntry> | Iterable<WrittenIndexEntry>, save: (piece: Uint8Array) => Promise<Ref>, options: { pieceBytes?: number } = {}): Promise<Ref[]> {
  const writer = new IndexDeltaWriter(save, options);
  for await (const e of entries) await writer.add(e);
  return writer.finish();
}

function encodeIndexPiece(groups: Group[]): Uint8Array {
  return seal('index', { g: groups.map((g) => [g.shard, Buffer.concat(g.chunks), g.offsets, g.lengths]) });
}

/** Decodes and validates one piece; `ownShard` (the shard it was read from) stands in for null shards. */
export function decodeIndexPiece(data: Uint8Array, ownShard: Uint8Array | null = null): IndexEntry[] {
  const out: IndexEntry[] = [];
  array(open(data, 'index').g, 'index groups').forEach((raw, i) => {
    const g = array(raw, `index group ${i}`);
    if (g.length !== 4) throw malformed(`index group ${i} has ${g.length} fields, not 4`);
    const shard = g[0] === null ? ownShard : bytes(g[0], `shard of index group ${i}`, ID_BYTES);
    if (!shard) throw malformed(`index group ${i} is in "its own shard", but the piece's shard is not known`);
    const ids = bytes(g[1], `chunk IDs of index group ${i}`);
    const offsets = array(g[2], `offsets of index group ${i}`);
    const lengths = array(g[3], `lengths of index group ${i}`);
    const n = ids.length / ID_BYTES;
    if (!Number.isInteger(n) || offsets.length !== n || lengths.length !== n) throw malformed(`index group ${i} has mismatched column lengths`);
    for (let k = 0; k < n; k++) {
      out.push({ chunk: ids.subarray(k * ID_BYTES, (k + 1) * ID_BYTES), shard, offset: uint(offsets[k], `offset ${k} of index group ${i}`), length: uint(lengths[k], `length ${k} of index group ${i}`) });
    }
  });
  return out;
}

/**
 * Applies index deltas in order into `sink`, loading and decoding one piece at a time. `pieces`
 * is every piece from the catalog, oldest first (after the latest compacted delta), each with
 * the shard it is in (replayCatalog resolves them so).
 */
export async function rebuildIndex<Ref extends { shard: Uint8Array }>(pieces: AsyncIterable<Ref> | Iterable<Ref>, loadPiece: (ref: Ref) => Promise<Uint8Array>, sink: IndexSink): Promise<{ pieces: number; entries: number }> {
  let count = 0;
  let entries = 0;
  for await (const ref of pieces) {
    const decoded = decodeIndexPiece(await loadPiece(ref), ref.shard);
    await sink.apply(decoded);
    count++;
    entries += decoded.length;
  }
  return { pieces: count, entries };
}
