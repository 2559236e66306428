/**
 * The catalog as a chain of numbered segments that grows by what changed, never rewritten
 * whole per backup. Each backup appends one segment (more past `catalogSegmentBytes`) holding
 * its records; each segment names the one before it; the root record names the newest (the
 * head). Now and then the chain is compacted: the live state becomes a new base chain whose
 * first segment names no predecessor, and the old segments are garbage.
 *
 * Segment: `{ v: 1, k: 'catalog', n: seq, p: previous | null, r: [record, ...] }`, `seq` one
 * more than the previous segment's, `previous` a BlobLocation ([id, shard, offset, length];
 * shard null: the same shard as this segment).
 *
 * A new machine (docs/snapshot-format.md): root record → head location → walk back to the
 * base, remembering only locations (and offering each record to `hint`, newest first, so the
 * loader learns the hosts of older catalog shards before it needs them) → replay oldest first
 * into the sink. Memory: one segment and the list of locations.
 */
import { Packr } from 'msgpackr';
import { array, malformed, nullable, uint } from './check.js';
import { DEFAULTS } from './constants.js';
import { open, seal } from './envelope.js';
import { type BlobLocation, type CatalogRecord, decodeRecord, encodeRecord, locationIn, locationOut, type ResolvedLocation } from './catalog-records.js';

/** Where the chain ends, as the root record carries it: the newest segment and its number. */
export interface CatalogHead {
  seq: number;
  /** `shard` may be null only while the segment's shard is still being written. */
  location: BlobLocation;
}

/** Where replayed records go (the SQLite catalog tables), in order. */
export interface CatalogSink {
  apply(record: CatalogRecord): void | Promise<void>;
}

/** Loads a segment's bytes; `location.shard` is always resolved here. */
export type LoadSegment = (location: ResolvedLocation) => Promise<Uint8Array>;

export interface DecodedSegment {
  seq: number;
  previous: BlobLocation | null;
  records: CatalogRecord[];
}

const sizer = new Packr({ useRecords: false, variableMapSize: true });
/** Upper bound of a segment's own bytes besides its records: envelope, seq, previous, list header. */
const SEGMENT_OVERHEAD = 128;

export function encodeSegment(seq: number, previous: BlobLocation | null, records: readonly CatalogRecord[]): Uint8Array {
  return seal('catalog', { n: seq, p: previous ? locationOut(previous) : null, r: records.map(encodeRecord) });
}

export function decodeSegment(data: Uint8Array): DecodedSegment {
  const body = open(data, 'catalog');
  return {
    seq: uint(body.n, 'catalog segment number'),
    previous: nullable(body.p, (p) => locationIn(p, 'previous segment')),
    records: array(body.r, 'catalog records').map(decodeRecord),
  };
}

/** Resolves a location written inside the blob at `container` (shard null → that blob's shard). */
export function resolve(location: BlobLocation, container: ResolvedLocation): ResolvedLocation {
  return { ...location, shard: location.shard ?? container.shard };
}

/**
 * Appends records to the chain after `head` (null: start a base chain), cutting a segment
 * whenever the next record would pass `segmentBytes`. `save` seals and packs a segment and
 * says where it went (shard null while its shard is open). Holds one segment's records.
 */
export class CatalogWriter {
  private records: CatalogRecord[] = [];
  private bytes = SEGMENT_OVERHEAD;
  private head: CatalogHead | null;
  private readonly segmentBytes: number;
  private nextSeq: number;

  constructor(
    private readonly save: (segment: Uint8Array) => Promise<BlobLocation>,
    start: { head: CatalogHead | null; seq?: number; segmentBytes?: number },
  ) {
    this.head = start.head;
    this.nextSeq = start.seq ?? (start.head ? start.head.seq + 1 : 0);
    this.segmentBytes = start.segmentBytes ?? DEFAULTS.catalogSegmentBytes;
  }

  async add(record: CatalogRecord): Promise<void> {
    const size = sizer.pack(encodeRecord(record)).length;
    if (size + SEGMENT_OVERHEAD > this.segmentBytes) throw new Error(`a ${record.type} record of ${size} bytes does not fit a ${this.segmentBytes}-byte segment`);
    if (this.records.length > 0 && this.bytes + size > this.segmentBytes) await this.flush();
    this.records.push(record);
    this.bytes += size;
  }

  /** Writes what is pending and returns the new head (the old one if nothing was added). */
  async finish(): Promise<CatalogHead | null> {
    if (this.records.length > 0) await this.flush();
    return this.head;
  }

  private async flush(): Promise<void> {
    const seq = this.nextSeq++;
    const segment = encodeSegment(seq, this.head?.location ?? null, this.records);
    this.records = [];
    this.bytes = SEGMENT_OVERHEAD;
    this.head = { seq, location: await this.save(segment) };
  }
}

/** Appends `records` after `head`; returns the new head. */
export async function appendRecords(records: AsyncIterable<CatalogRecord> | Iterable<CatalogRecord>, head: CatalogHead | null, save: (segment: Uint8Array) => Promise<BlobLocation>, options: { segmentBytes?: number } = {}): Promise<CatalogHead | null> {
  const writer = new CatalogWriter(save, { head, ...options });
  for await (const r of records) await writer.add(r);
  return writer.finish();
}

/**
 * Replays the whole chain ending at `head` into `sink`, oldest segment first. Checks that
 * numbers fall by one at each step back (a loop or a stale pointer fails as MALFORMED).
 */
export async function replayCatalog(
  head: { seq: number; location: ResolvedLocation },
  load: LoadSegment,
  sink: CatalogSink,
  hint?: (record: CatalogRecord, segment: ResolvedLocation) => void,
): Promise<{ segments: number; records: number }> {
  const chain: ResolvedLocation[] = [];
  let at: ResolvedLocation | null = head.location;
  let expected = head.seq;
  while (at) {
    const segment = decodeSegment(await load(at));
    if (segment.seq !== expected) throw malformed(`catalog segment ${segment.seq} found where ${expected} was expected`);
    chain.push(at);
    for (const r of segment.records) hint?.(r, at);
    if (segment.previous && expected === 0) throw malformed('catalog segment 0 names a predecessor');
    expected--;
    at = segment.previous ? resolve(segment.previous, at) : null;
  }
  let records = 0;
  for (let i = chain.length - 1; i >= 0; i--) {
    const location = chain[i]!;
    for (const r of decodeSegment(await load(location)).records) {
      await sink.apply(r.type === 'index-added' ? { ...r, pieces: r.pieces.map((p) => resolve(p, location)) } : r);
      records++;
    }
  }
  return { segments: chain.length, records };
}

/** What compaction reads: the live state, from the sink the chain was replayed into. */
export interface LiveCatalog {
  snapshots(): Iterable<Extract<CatalogRecord, { type: 'snapshot-added' }>> | AsyncIterable<Extract<CatalogRecord, { type: 'snapshot-added' }>>;
  shards(): Iterable<Extract<CatalogRecord, { type: 'shard-added' }>> | AsyncIterable<Extract<CatalogRecord, { type: 'shard-added' }>>;
  /** Live contracts only. */
  contracts(): Iterable<Extract<CatalogRecord, { type: 'contract-added' }>> | AsyncIterable<Extract<CatalogRecord, { type: 'contract-added' }>>;
}

/**
 * The records of a compacted catalog (pure): every live shard, its live contracts, every live
 * snapshot, then the compacted index (pieces the caller wrote with `writeIndexDelta` from its
 * live index) marked `replacesAll`. Forgotten snapshots, removed shards and ended contracts
 * leave no trace. Shards come before contracts and snapshots, as a sink may require.
 */
export async function* compactedRecords(live: LiveCatalog, indexPieces: BlobLocation[]): AsyncGenerator<CatalogRecord> {
  yield* live.shards();
  yield* live.contracts();
  yield* live.snapshots();
  yield { type: 'index-added', pieces: indexPieces, replacesAll: true };
}

/**
 * Compacts: writes the live state as a new base chain (first segment with no predecessor),
 * numbered on from `head` so a stale root record can never look newer. Returns the new head;
 * once the root record names it, every older segment is garbage.
 */
export async function compactCatalog(live: LiveCatalog, indexPieces: BlobLocation[], head: CatalogHead | null, save: (segment: Uint8Array) => Promise<BlobLocation>, options: { segmentBytes?: number } = {}): Promise<CatalogHead> {
  const writer = new CatalogWriter(save, { head: null, seq: head ? head.seq + 1 : 0, ...options });
  for await (const r of compactedRecords(live, indexPieces)) await writer.add(r);
  return (await writer.finish())!;
}

/** Compact when this many segments were appended since the last base (see DEFAULTS.compactAfterSegments). */
export function shouldCompact(segmentsSinceBase: number, limit: number = DEFAULTS.compactAfterSegments): boolean {
  return segmentsSinceBase >= limit;
}
