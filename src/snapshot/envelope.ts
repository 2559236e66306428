/**
 * Every blob of this model is a MessagePack map `{ v: version, k: kind, ...body }`. The kind tag
 * makes a blob of one kind fed to another's decoder fail clearly; the version lets a format
 * change fail with "written by a newer dbs" rather than a crash. The first format's snapshot
 * object (src/backup/formats.ts: `{ v: 1, id, t, src, e, i }`, no kind) is recognized and
 * reported as LEGACY_SNAPSHOT so the caller can say so, or read it with the old decoder.
 */
import { Packr } from 'msgpackr';
import { isPlainMap, malformed, unpack } from './check.js';
import { SnapshotFormatError } from './errors.js';
import type { BlobKind } from './ports.js';

/**
 * `variableMapSize` keeps small maps small; records off, so a blob decodes with any MessagePack
 * reader. The same input always gives the same bytes, which content addressing relies on.
 */
const packr = new Packr({ useRecords: false, variableMapSize: true });

/** Format version written for each kind (and the only one read). */
export const FORMAT_VERSIONS: Record<BlobKind, number> = { tree: 1, chunks: 1, index: 1, catalog: 1 };

export function seal(kind: BlobKind, body: Record<string, unknown>): Uint8Array {
  return packr.pack({ v: FORMAT_VERSIONS[kind], k: kind, ...body });
}

/** The body of a blob of `kind`, or a SnapshotFormatError saying what it is instead. */
export function open(data: Uint8Array, kind: BlobKind): Record<string, unknown> {
  const raw = unpack(data, `${kind} blob`);
  if (!isPlainMap(raw)) throw malformed(`${kind} blob is not a map`);
  if (raw.k === undefined && raw.v === 1 && Array.isArray(raw.e) && Array.isArray(raw.i)) {
    throw new SnapshotFormatError(
      'LEGACY_SNAPSHOT',
      'this snapshot was written in the first format (one blob for the whole tree), not as directory trees; read it with the old snapshot decoder or back up again',
    );
  }
  if (typeof raw.k !== 'string') throw malformed(`${kind} blob has no kind tag`);
  if (raw.k !== kind) throw new SnapshotFormatError('WRONG_KIND', `expected a ${kind} blob, found a ${raw.k} blob`);
  if (raw.v !== FORMAT_VERSIONS[kind]) {
    throw new SnapshotFormatError(
      'UNSUPPORTED_VERSION',
      `${kind} blob format ${String(raw.v)} is not supported (this dbs reads format ${FORMAT_VERSIONS[kind]}); was it written by a newer dbs?`,
    );
  }
  return raw;
}
