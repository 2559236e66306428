/**
 * The catalog's records: what changed in the owner's backup set, one fact each. Replayed in
 * order they give the live catalog (snapshots, shards, contracts, index pieces); see
 * catalog-state.ts for the reference meaning of each. Encoded as lists `[tag, ...fields]`.
 */
import { array, bytes, finite, malformed, nullable, string, uint } from './check.js';
import { ID_BYTES } from './constants.js';

/**
 * A blob found without the chunk index (index pieces, catalog segments): its ID and its place.
 * `shard: null` means "the shard holding the blob this location is written in", for blobs
 * packed into the same shard before its hash is known.
 */
export interface BlobLocation {
  id: Uint8Array;
  shard: Uint8Array | null;
  offset: number;
  length: number;
}

/** A location whose shard is known (what a loader is handed). */
export type ResolvedLocation = BlobLocation & { shard: Uint8Array };

export type ShardKind = 'data' | 'meta' | 'catalog';

export type CatalogRecord =
  /**
   * A backup finished: its root tree, and the snapshot it used as parent (files cache). `tags`
   * (`dbs backup --tag`) is a 9th field written only when there are tags, so a record without
   * them is byte-for-byte the older 8-field one and both decode.
   */
  | { type: 'snapshot-added'; id: string; createdAt: number; source: string; root: Uint8Array; parent: string | null; files: number; bytes: number; tags?: string[] }
  /** `dbs forget`: the snapshot is no longer listed or kept; prune reclaims what only it needed. */
  | { type: 'snapshot-forgotten'; id: string; at: number }
  | { type: 'shard-added'; hash: Uint8Array; size: number; merkleRoot: Uint8Array; replicas: number; kind: ShardKind }
  /** Pruned: nothing live in it any more; its index entries go with it. */
  | { type: 'shard-removed'; hash: Uint8Array; at: number }
  /**
   * A host keeps a shard. `terms` are the canonical encoded terms (src/contracts/contract.ts),
   * `id` the contract ID the writer derived from them; a sink re-derives and verifies both.
   */
  | { type: 'contract-added'; id: Uint8Array; shard: Uint8Array; terms: Uint8Array; ownerSignature: Uint8Array; hostSignature: Uint8Array | null; address: string | null }
  | { type: 'contract-ended'; id: Uint8Array; at: number }
  /** Index deltas (index-delta.ts); `replacesAll`: a compacted index, earlier pieces are obsolete. */
  | { type: 'index-added'; pieces: BlobLocation[]; replacesAll: boolean };

export type CatalogRecordType = CatalogRecord['type'];

const TAGS: Record<CatalogRecordType, number> = {
  'snapshot-added': 1,
  'snapshot-forgotten': 2,
  'shard-added': 3,
  'shard-removed': 4,
  'contract-added': 5,
  'contract-ended': 6,
  'index-added': 7,
};
const BY_TAG = new Map(Object.entries(TAGS).map(([type, tag]) => [tag, type as CatalogRecordType]));
const KINDS: ShardKind[] = ['data', 'meta', 'catalog'];
/** Longest snapshot ID and source path kept (characters). */
const MAX_TEXT = 4096;
/** Longest tag kept (characters; src/retention/tags.ts allows 128). */
const MAX_TAG = 1024;

export function locationOut(l: BlobLocation): unknown[] {
  return [l.id, l.shard, l.offset, l.length];
}

export function locationIn(v: unknown, what: string): BlobLocation {
  const f = array(v, what);
  if (f.length !== 4) throw malformed(`${what} has ${f.length} fields, not 4`);
  return { id: bytes(f[0], `${what} ID`, ID_BYTES), shard: nullable(f[1], (s) => bytes(s, `${what} shard`, ID_BYTES)), offset: uint(f[2], `${what} offset`), length: uint(f[3], `${what} length`) };
}

export function encodeRecord(r: CatalogRecord): unknown[] {
  switch (r.type) {
    case 'snapshot-added':
      return [TAGS[r.type], r.id, r.createdAt, r.source, r.root, r.parent, r.files, r.bytes, ...(r.tags?.length ? [r.tags] : [])];
    case 'snapshot-forgotten':
      return [TAGS[r.type], r.id, r.at];
    case 'shard-added':
      return [TAGS[r.type], r.hash, r.size, r.merkleRoot, r.replicas, KINDS.indexOf(r.kind)];
    case 'shard-removed':
      return [TAGS[r.type], r.hash, r.at];
    case 'contract-added':
      return [TAGS[r.type], r.id, r.shard, r.terms, r.ownerSignature, r.hostSignature, r.address];
    case 'contract-ended':
      return [TAGS[r.type], r.id, r.at];
    case 'index-added':
      return [TAGS[r.type], r.pieces.map(locationOut), r.replacesAll];
  }
}

export function decodeRecord(v: unknown, i: number): CatalogRecord {
  const f = array(v, `catalog record ${i}`);
  const type = BY_TAG.get(f[0] as number);
  if (!type) throw malformed(`catalog record ${i} has an unknown tag ${String(f[0])}`);
  const what = `${type} record ${i}`;
  const want = (n: number) => {
    if (f.length !== n) throw malformed(`${what} has ${f.length} fields, not ${n}`);
  };
  const id32 = (x: unknown, name: string) => bytes(x, `${name} of ${what}`, ID_BYTES);
  switch (type) {
    case 'snapshot-added': {
      if (f.length !== 8 && f.length !== 9) throw malformed(`${what} has ${f.length} fields, not 8 or 9`);
      const tags = f.length === 9 ? array(f[8], `tags of ${what}`).map((t, k) => string(t, `tag ${k} of ${what}`, MAX_TAG)) : undefined;
      return {
        type,
        id: string(f[1], `ID of ${what}`, MAX_TEXT),
        createdAt: finite(f[2], `time of ${what}`),
        source: string(f[3], `source of ${what}`, MAX_TEXT),
        root: id32(f[4], 'root tree'),
        parent: nullable(f[5], (p) => string(p, `parent of ${what}`, MAX_TEXT)),
        files: uint(f[6], `files of ${what}`),
        bytes: uint(f[7], `bytes of ${what}`),
        ...(tags?.length ? { tags } : {}),
      };
    }
    case 'snapshot-forgotten':
      want(3);
      return { type, id: string(f[1], `ID of ${what}`, MAX_TEXT), at: finite(f[2], `time of ${what}`) };
    case 'shard-added': {
      want(6);
      const kind = KINDS[uint(f[5], `kind of ${what}`)];
      if (!kind) throw malformed(`${what} has an unknown shard kind ${String(f[5])}`);
      return { type, hash: id32(f[1], 'hash'), size: uint(f[2], `size of ${what}`), merkleRoot: id32(f[3], 'Merkle root'), replicas: uint(f[4], `replicas of ${what}`), kind };
    }
    case 'shard-removed':
      want(3);
      return { type, hash: id32(f[1], 'hash'), at: finite(f[2], `time of ${what}`) };
    case 'contract-added':
      want(7);
      return {
        type,
        id: id32(f[1], 'contract ID'),
        shard: id32(f[2], 'shard'),
        terms: bytes(f[3], `terms of ${what}`),
        ownerSignature: bytes(f[4], `owner signature of ${what}`),
        hostSignature: nullable(f[5], (s) => bytes(s, `host signature of ${what}`)),
        address: nullable(f[6], (a) => string(a, `address of ${what}`, MAX_TEXT)),
      };
    case 'contract-ended':
      want(3);
      return { type, id: id32(f[1], 'contract ID'), at: finite(f[2], `time of ${what}`) };
    case 'index-added':
      want(3);
      if (typeof f[2] !== 'boolean') throw malformed(`replacesAll of ${what} is not true or false`);
      return { type, pieces: array(f[1], `pieces of ${what}`).map((p, k) => locationIn(p, `piece ${k} of ${what}`)), replacesAll: f[2] };
  }
}
