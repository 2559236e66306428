/**
 * What a backup writes besides file data, all MessagePack, all sealed like data chunks
 * except the root record (which is signed and public):
 *
 * - Snapshot object: the tree (names, types, modes, mtimes, sizes, symlink targets, each
 *   file's chunk IDs) and where every chunk it needs lives (shard, offset, length).
 * - Catalog: every snapshot, and every shard with the contracts that keep it, so a new
 *   machine can find, fetch, audit and repair everything. Written after each backup.
 * - Root record: a signed mutable DHT record under the owner's key that points to the
 *   newest metadata shard (which holds that snapshot object and the catalog) and to the
 *   hosts and contracts that keep it. With the recovery key, it is the way back in.
 */
import { Packr, Unpackr } from 'msgpackr';
import { type Contract, contractIdFromEncoded, decodeTerms, encodeTerms } from '../contracts/contract.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

export type EntryType = 'file' | 'dir' | 'symlink';

export interface TreeEntry {
  /** Path relative to the backed-up root, '/'-separated; '' is the root itself. */
  path: string;
  type: EntryType;
  mode: number;
  mtimeMs: number;
  size: number;
  target?: string;
  chunks?: Uint8Array[];
}

export interface ChunkLocation {
  shard: Uint8Array;
  offset: number;
  length: number;
}

export interface SnapshotObject {
  id: string;
  createdAt: number;
  source: string;
  entries: TreeEntry[];
  /** Chunk ID (hex) → where it is. */
  index: Map<string, ChunkLocation>;
}

/** Where a sealed blob is; `shard` null means "the shard this catalog itself is in". */
export interface BlobRef {
  shard: Uint8Array | null;
  offset: number;
  length: number;
  chunk: Uint8Array;
}

export interface SnapshotSummary {
  id: string;
  createdAt: number;
  source: string;
  files: number;
  bytes: number;
  meta: BlobRef;
}

export interface CatalogShard {
  hash: Uint8Array;
  size: number;
  merkleRoot: Uint8Array;
  replicas: number;
  kind: 'data' | 'meta' | 'catalog' | 'catalog';
  contracts: { contract: Contract; address: string | null }[];
}

export interface Catalog {
  snapshots: SnapshotSummary[];
  shards: CatalogShard[];
}

export interface RootRecord {
  /** The metadata shard: hash, size, Merkle root. */
  shard: Uint8Array;
  size: number;
  merkleRoot: Uint8Array;
  /** The catalog inside it. */
  catalog: BlobRef;
  /** Hosts keeping it: public key and contract ID. */
  hosts: { host: Uint8Array; contract: Uint8Array }[];
  createdAt: number;
}

export const ROOT_RECORD_SALT = new TextEncoder().encode('dbs-root-v1');

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

function blobRefOut(r: BlobRef) {
  return [r.shard, r.offset, r.length, r.chunk];
}

function blobRefIn(a: unknown[]): BlobRef {
  return { shard: (a[0] as Uint8Array | null) ?? null, offset: a[1] as number, length: a[2] as number, chunk: a[3] as Uint8Array };
}

export function encodeSnapshot(s: SnapshotObject): Uint8Array {
  return packr.pack({
    v: 1,
    id: s.id,
    t: s.createdAt,
    src: s.source,
    e: s.entries.map((e) => [e.path, e.type, e.mode, e.mtimeMs, e.size, e.target ?? null, e.chunks ? Buffer.concat(e.chunks) : null]),
    i: [...s.index].map(([id, l]) => [bytes(id), l.shard, l.offset, l.length]),
  });
}

export function decodeSnapshot(data: Uint8Array): SnapshotObject {
  const raw = unpackr.unpack(data) as { v: number; id: string; t: number; src: string; e: unknown[][]; i: unknown[][] };
  if (raw.v !== 1) throw new Error(`unknown snapshot format ${raw.v}`);
  const entries: TreeEntry[] = raw.e.map((e) => {
    const entry: TreeEntry = { path: e[0] as string, type: e[1] as EntryType, mode: e[2] as number, mtimeMs: e[3] as number, size: e[4] as number };
    if (e[5] !== null) entry.target = e[5] as string;
    if (e[6] !== null) {
      const all = e[6] as Uint8Array;
      entry.chunks = [];
      for (let off = 0; off < all.length; off += 32) entry.chunks.push(all.subarray(off, off + 32));
    }
    return entry;
  });
  const index = new Map<string, ChunkLocation>(raw.i.map((i) => [hex(i[0] as Uint8Array), { shard: i[1] as Uint8Array, offset: i[2] as number, length: i[3] as number }]));
  return { id: raw.id, createdAt: raw.t, source: raw.src, entries, index };
}

export function encodeCatalog(c: Catalog): Uint8Array {
  return packr.pack({
    v: 1,
    s: c.snapshots.map((s) => [s.id, s.createdAt, s.source, s.files, s.bytes, blobRefOut(s.meta)]),
    h: c.shards.map((s) => [s.hash, s.size, s.merkleRoot, s.replicas, s.kind, s.contracts.map((k) => [encodeTerms(k.contract.terms), k.contract.ownerSignature, k.contract.hostSignature, k.address])]),
  });
}

export function decodeCatalog(data: Uint8Array): Catalog {
  const raw = unpackr.unpack(data) as { v: number; s: unknown[][]; h: unknown[][] };
  if (raw.v !== 1) throw new Error(`unknown catalog format ${raw.v}`);
  return {
    snapshots: raw.s.map((s) => ({ id: s[0] as string, createdAt: s[1] as number, source: s[2] as string, files: s[3] as number, bytes: s[4] as number, meta: blobRefIn(s[5] as unknown[]) })),
    shards: raw.h.map((h) => ({
      hash: h[0] as Uint8Array,
      size: h[1] as number,
      merkleRoot: h[2] as Uint8Array,
      replicas: h[3] as number,
      kind: h[4] as 'data' | 'meta' | 'catalog',
      contracts: (h[5] as unknown[][]).map((k) => {
        const terms = decodeTerms(k[0] as Uint8Array);
        return { contract: { terms, id: contractIdFromEncoded(k[0] as Uint8Array), ownerSignature: k[1] as Uint8Array, hostSignature: k[2] as Uint8Array }, address: (k[3] as string | null) ?? null };
      }),
    })),
  };
}

export function encodeRootRecord(r: RootRecord): Uint8Array {
  return packr.pack({ v: 1, s: r.shard, z: r.size, r: r.merkleRoot, c: blobRefOut(r.catalog), h: r.hosts.map((h) => [h.host, h.contract]), t: r.createdAt });
}

export function decodeRootRecord(data: Uint8Array): RootRecord {
  const raw = unpackr.unpack(data) as { v: number; s: Uint8Array; z: number; r: Uint8Array; c: unknown[]; h: Uint8Array[][]; t: number };
  if (raw.v !== 1) throw new Error(`unknown root record format ${raw.v}`);
  return { shard: raw.s, size: raw.z, merkleRoot: raw.r, catalog: blobRefIn(raw.c), hosts: raw.h.map((h) => ({ host: h[0]!, contract: h[1]! })), createdAt: raw.t };
}
