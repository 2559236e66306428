/**
 * Field checks for decoding untrusted blobs: each returns a value of the promised type or throws
 * a MALFORMED SnapshotFormatError naming the field, so a decoder never hands on junk.
 */
import { Unpackr } from 'msgpackr';
import { SnapshotFormatError } from './errors.js';

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

export function malformed(what: string): SnapshotFormatError {
  return new SnapshotFormatError('MALFORMED', what);
}

/** MessagePack bytes → value; any decoding failure becomes MALFORMED. */
export function unpack(data: Uint8Array, what: string): unknown {
  try {
    return unpackr.unpack(data);
  } catch (err) {
    throw malformed(`${what} is not MessagePack: ${(err as Error).message}`);
  }
}

export function isPlainMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
}

export function array(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw malformed(`${what} is not a list`);
  return v;
}

export function bytes(v: unknown, what: string, length?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw malformed(`${what} is not bytes`);
  if (length !== undefined && v.length !== length) throw malformed(`${what} is ${v.length} bytes, not ${length}`);
  return v;
}

export function string(v: unknown, what: string, maxLength: number): string {
  if (typeof v !== 'string') throw malformed(`${what} is not text`);
  if (v.length > maxLength) throw malformed(`${what} is longer than ${maxLength}`);
  return v;
}

/** A non-negative integer (safe or not: inode numbers may pass 2^53 and lose low bits). */
export function uint(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw malformed(`${what} is not a non-negative integer`);
  return v;
}

export function finite(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw malformed(`${what} is not a number`);
  return v;
}

export function nullable<T>(v: unknown, read: (v: unknown) => T): T | null {
  return v === null || v === undefined ? null : read(v);
}
