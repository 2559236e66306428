/**
 * Snapshot tags (`dbs backup --tag a,b --tag c`, `dbs forget --keep-tag a,b`), parsed and checked
 * once here. Pure. Tags are not stored with snapshots yet: the record that will carry them is
 * the segment-chain catalog's `snapshot-added` (src/snapshot, issue 15); see docs/retention.md.
 */
import { RetentionError } from './errors.js';

/** Longest tag, characters: a label, not a note. */
export const MAX_TAG_LENGTH = 128;

function checkTag(tag: string): string {
  // Control characters would break the one-line plan; a comma is the list separator.
  if (tag.length === 0 || tag.length > MAX_TAG_LENGTH || /[\p{Cc},]/u.test(tag)) {
    throw new RetentionError('BAD_POLICY', `"${tag}" is not a tag: 1 to ${MAX_TAG_LENGTH} characters, no commas or control characters`);
  }
  return tag;
}

/** `--tag` values: each may list several tags separated by commas; duplicates dropped, order kept. */
export function parseTags(values: readonly string[]): string[] {
  return [...new Set(values.flatMap((v) => v.split(',').map((t) => checkTag(t.trim()))))];
}

/** `--keep-tag` values: each is one list, all of whose tags a snapshot must carry. */
export function parseTagLists(values: readonly string[]): string[][] {
  return values.map((v) => [...new Set(v.split(',').map((t) => checkTag(t.trim())))]);
}
