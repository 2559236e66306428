/**
 * The one error a snapshot blob decoder throws: a typed `code` a caller can branch on (show the
 * "written by an older dbs" message, fall back to the old reader, or report corruption), and a
 * message a person can read. Decoders never crash on junk: every field is checked first.
 */

/**
 * - `LEGACY_SNAPSHOT`: a whole-tree snapshot object of the first format (src/backup/formats.ts),
 *   which has no per-directory trees; the caller may hand it to the old decoder.
 * - `UNSUPPORTED_VERSION`: a blob of the right kind in a format version this code does not know
 *   (written by a newer dbs, or damaged).
 * - `WRONG_KIND`: a valid blob of another kind (an index delta where a tree was expected).
 * - `MALFORMED`: not a blob of ours at all, or a field of the wrong type, size or order.
 */
export type SnapshotFormatErrorCode = 'LEGACY_SNAPSHOT' | 'UNSUPPORTED_VERSION' | 'WRONG_KIND' | 'MALFORMED';

export class SnapshotFormatError extends Error {
  constructor(
    readonly code: SnapshotFormatErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SnapshotFormatError';
  }
}
