/**
 * The FIRST format, no longer written or read by the engine (pre-release, no converter): one
 * snapshot object per backup holding every entry and the whole chunk index, a catalog rewritten
 * whole per backup, and root record version 1 naming it. The engine now writes trees, index
 * deltas and catalog segments (src/snapshot, docs/snapshot-format.md) and root record version 2
 * (root-record.ts); what the first format left behind fails as LEGACY_SNAPSHOT. Kept here: the
 * shapes shared with the new format (ChunkLocation, the root record's DHT salt), and the
 * first-format codecs, so tests can make first-format data and check it is recognized.
 *
 * Decoders check the shape of what they read and throw FormatError (code BAD_FORMAT) for
 * anything else, so a damaged or foreign object never becomes a half-read snapshot.
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
  kind: 'data' | 'meta' | 'catalog';
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

/** A snapshot object, catalog or root record that is not what its format says. */
export class FormatError extends Error {
  readonly code = 'BAD_FORMAT';
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

const SHARD_KINDS: ReadonlySet<unknown> = new Set(['data', 'meta', 'catalog']);
const ENTRY_TYPES: ReadonlySet<unknown> = new Set(['file', 'dir', 'symlink']);
/** Bytes of a chunk ID (HMAC-SHA-256) and of a shard hash (SHA-256). */
const ID_BYTES = 32;

function malformed(what: string): never {
  throw new FormatError(`malformed ${what}`);
}

/** The top-level map of a format-1 object. */
function top(data: Uint8Array, what: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = unpackr.unpack(data);
  } catch {
    malformed(what);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) malformed(what);
  const map = raw as Record<string, unknown>;
  if (map['v'] !== 1) throw new FormatError(`unknown ${what} format ${String(map['v'])}`);
  return map;
}

function list(x: unknown, what: string): unknown[] {
  return Array.isArray(x) ? x : malformed(what);
}

function uint(x: unknown, what: string): number {
  return Number.isSafeInteger(x) && (x as number) >= 0 ? (x as number) : malformed(what);
}

function finite(x: unknown, what: string): number {
  return typeof x === 'number' && Number.isFinite(x) ? x : malformed(what);
}

function text(x: unknown, what: string): string {
  return typeof x === 'string' ? x : malformed(what);
}

function byteString(x: unknown, what: string, length?: number): Uint8Array {
  return x instanceof Uint8Array && (length === undefined || x.length === length) ? x : malformed(what);
}

function blobRefOut(r: BlobRef) {
  return [r.shard, r.offset, r.length, r.chunk];
}

function blobRefIn(x: unknown, what: string): BlobRef {
  const a = list(x, what);
  const shard = a[0] === null || a[0] === undefined ? null : byteString(a[0], what, ID_BYTES);
  return { shard, offset: uint(a[1], what), length: uint(a[2], what), chunk: byteString(a[3], what, ID_BYTES) };
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
  const raw = top(data, 'snapshot');
  const entries: TreeEntry[] = list(raw['e'], 'snapshot entries').map((x) => {
    const e = list(x, 'snapshot entry');
    if (!ENTRY_TYPES.has(e[1])) malformed('snapshot entry type');
    const entry: TreeEntry = { path: text(e[0], 'entry path'), type: e[1] as EntryType, mode: uint(e[2], 'entry mode'), mtimeMs: finite(e[3], 'entry mtime'), size: uint(e[4], 'entry size') };
    if (e[5] !== null && e[5] !== undefined) entry.target = text(e[5], 'symlink target');
    if (e[6] !== null && e[6] !== undefined) {
      const all = byteString(e[6], 'chunk list');
      if (all.length % ID_BYTES !== 0) malformed('chunk list');
      entry.chunks = [];
      for (let off = 0; off < all.length; off += ID_BYTES) entry.chunks.push(all.subarray(off, off + ID_BYTES));
    }
    return entry;
  });
  const index = new Map<string, ChunkLocation>(
    list(raw['i'], 'chunk index').map((x) => {
      const i = list(x, 'chunk location');
      return [hex(byteString(i[0], 'chunk ID', ID_BYTES)), { shard: byteString(i[1], 'chunk shard', ID_BYTES), offset: uint(i[2], 'chunk offset'), length: uint(i[3], 'chunk length') }];
    }),
  );
  return { id: text(raw['id'], 'snapshot ID'), createdAt: finite(raw['t'], 'snapshot time'), source: text(raw['src'], 'snapshot source'), entries, index };
}

export function encodeCatalog(c: Catalog): Uint8Array {
  return packr.pack({
    v: 1,
    s: c.snapshots.map((s) => [s.id, s.createdAt, s.source, s.files, s.bytes, blobRefOut(s.meta)]),
    h: c.shards.map((s) => [s.hash, s.size, s.merkleRoot, s.replicas, s.kind, s.contracts.map((k) => [encodeTerms(k.contract.terms), k.contract.ownerSignature, k.contract.hostSignature, k.address])]),
  });
}

export function decodeCatalog(data: Uint8Array): Catalog {
  const raw = top(data, 'catalog');
  return {
    snapshots: list(raw['s'], 'catalog snapshots').map((x) => {
      const s = list(x, 'catalog snapshot');
      return { id: text(s[0], 'snapshot ID'), createdAt: finite(s[1], 'snapshot time'), source: text(s[2], 'snapshot source'), files: uint(s[3], 'snapshot files'), bytes: uint(s[4], 'snapshot bytes'), meta: blobRefIn(s[5], 'snapshot metadata ref') };
    }),
    shards: list(raw['h'], 'catalog shards').map((x) => {
      const h = list(x, 'catalog shard');
      if (!SHARD_KINDS.has(h[4])) malformed('shard kind');
      return {
        hash: byteString(h[0], 'shard hash', ID_BYTES),
        size: uint(h[1], 'shard size'),
        merkleRoot: byteString(h[2], 'Merkle root', ID_BYTES),
        replicas: uint(h[3], 'shard replicas'),
        kind: h[4] as CatalogShard['kind'],
        contracts: list(h[5], 'shard contracts').map((y) => {
          const k = list(y, 'shard contract');
          const encoded = byteString(k[0], 'contract terms');
          let terms;
          try {
            terms = decodeTerms(encoded);
          } catch {
            malformed('contract terms');
          }
          const address = k[3] === null || k[3] === undefined ? null : text(k[3], 'host address');
          return { contract: { terms, id: contractIdFromEncoded(encoded), ownerSignature: byteString(k[1], 'owner signature'), hostSignature: byteString(k[2], 'host signature') }, address };
        }),
      };
    }),
  };
}

export function encodeRootRecord(r: RootRecord): Uint8Array {
  return packr.pack({ v: 1, s: r.shard, z: r.size, r: r.merkleRoot, c: blobRefOut(r.catalog), h: r.hosts.map((h) => [h.host, h.contract]), t: r.createdAt });
}

export function decodeRootRecord(data: Uint8Array): RootRecord {
  const raw = top(data, 'root record');
  const hosts = list(raw['h'], 'root record hosts').map((x) => {
    const h = list(x, 'root record host');
    return { host: byteString(h[0], 'host key'), contract: byteString(h[1], 'contract ID') };
  });
  return {
    shard: byteString(raw['s'], 'root record shard', ID_BYTES),
    size: uint(raw['z'], 'root record size'),
    merkleRoot: byteString(raw['r'], 'root record Merkle root', ID_BYTES),
    catalog: blobRefIn(raw['c'], 'catalog ref'),
    hosts,
    createdAt: finite(raw['t'], 'root record time'),
  };
}
