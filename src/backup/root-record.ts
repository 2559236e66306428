/**
 * The root record, version 2 (docs/snapshot-format.md): the signed DHT value under the owner's
 * key that names the head of the catalog chain, the shard it is in and the hosts keeping that
 * shard. With the recovery key it is the way back in. Public (signed, not sealed): it names
 * only hashes, positions and host keys.
 *
 * `{ v: 2, s: shard, z: size, r: Merkle root, c: [segment ID, offset, length], n: head seq,
 *    b: base seq, h: [[host key, contract ID], ...], t: created at }`
 *
 * A version-1 record (the first format: one catalog blob, one snapshot object per backup)
 * fails as SnapshotFormatError LEGACY_SNAPSHOT: this pre-release has no converter.
 */
import { Packr } from 'msgpackr';
import { array, bytes, finite, isPlainMap, malformed, uint, unpack } from '../snapshot/check.js';
import { ID_BYTES } from '../snapshot/constants.js';
import { SnapshotFormatError } from '../snapshot/errors.js';
import type { ResolvedLocation } from '../snapshot/catalog-records.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });

export interface RootRecordV2 {
  /** The head segment, in its shard. */
  head: ResolvedLocation;
  /** The head shard's size and Merkle root (to fetch and verify it). */
  size: number;
  merkleRoot: Uint8Array;
  seq: number;
  base: number;
  hosts: { host: Uint8Array; contract: Uint8Array }[];
  createdAt: number;
}

export function encodeRootRecordV2(r: RootRecordV2): Uint8Array {
  return packr.pack({
    v: 2,
    s: r.head.shard,
    z: r.size,
    r: r.merkleRoot,
    c: [r.head.id, r.head.offset, r.head.length],
    n: r.seq,
    b: r.base,
    h: r.hosts.map((h) => [h.host, h.contract]),
    t: r.createdAt,
  });
}

export function decodeRootRecordV2(data: Uint8Array): RootRecordV2 {
  const raw = unpack(data, 'root record');
  if (!isPlainMap(raw)) throw malformed('root record is not a map');
  if (raw.v === 1) {
    throw new SnapshotFormatError('LEGACY_SNAPSHOT', 'the backups of this recovery key were written in the first format (one snapshot object per backup), which this version does not read; back up again with this version');
  }
  if (raw.v !== 2) throw new SnapshotFormatError('UNSUPPORTED_VERSION', `root record format ${String(raw.v)} is not supported (this dbs reads format 2); was it written by a newer dbs?`);
  const c = array(raw.c, 'root record head');
  if (c.length !== 3) throw malformed('root record head has the wrong number of fields');
  return {
    head: { shard: bytes(raw.s, 'root record shard', ID_BYTES), id: bytes(c[0], 'head segment ID', ID_BYTES), offset: uint(c[1], 'head segment offset'), length: uint(c[2], 'head segment length') },
    size: uint(raw.z, 'root record shard size'),
    merkleRoot: bytes(raw.r, 'root record Merkle root', ID_BYTES),
    seq: uint(raw.n, 'head segment number'),
    base: uint(raw.b, 'base segment number'),
    hosts: array(raw.h, 'root record hosts').map((x, i) => {
      const h = array(x, `root record host ${i}`);
      return { host: bytes(h[0], `host key ${i}`, 32), contract: bytes(h[1], `contract ID ${i}`, ID_BYTES) };
    }),
    createdAt: finite(raw.t, 'root record time'),
  };
}
