/**
 * DHT values, pure: immutable values (key = SHA-1 of the value) and mutable signed records
 * (key = SHA-1 of an Ed25519 public key and optional salt, with a sequence number), in the
 * spirit of BitTorrent's BEP 44. Storing nodes call `checkRecord` before keeping anything.
 */
import { createHash } from 'node:crypto';
import { bytesEqual } from '../util/bytes.js';
import { verifyEd25519 } from '../crypto/ed25519.js';

/** Largest value a record may carry, so a STORE always fits one datagram. */
export const MAX_VALUE_BYTES = 880;
export const MAX_SALT_BYTES = 64;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

/** A value as stored and served by the DHT. Mutable when `publicKey` is set. */
export interface DhtRecord {
  value: Uint8Array;
  publicKey?: Uint8Array;
  signature?: Uint8Array;
  seq?: number;
  salt?: Uint8Array;
}

export function isMutable(record: DhtRecord): boolean {
  return record.publicKey !== undefined;
}

export function immutableKey(value: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha1').update(value).digest());
}

export function mutableKey(publicKey: Uint8Array, salt?: Uint8Array): Uint8Array {
  const h = createHash('sha1').update(publicKey);
  if (salt && salt.length > 0) h.update(salt);
  return new Uint8Array(h.digest());
}

const DOMAIN = Buffer.from('dbs-dht-mutable-v1');

/**
 * The bytes a mutable record's signature covers: a domain tag, the salt (length-prefixed),
 * the sequence number (64-bit big-endian) and the value. Unambiguous by construction.
 */
export function signedPayload(seq: number, value: Uint8Array, salt?: Uint8Array): Uint8Array {
  const s = salt ?? new Uint8Array(0);
  const out = Buffer.alloc(DOMAIN.length + 1 + s.length + 8 + value.length);
  let off = DOMAIN.copy(out, 0);
  out[off++] = s.length;
  off += Buffer.from(s).copy(out, off);
  out.writeBigUInt64BE(BigInt(seq), off);
  off += 8;
  Buffer.from(value).copy(out, off);
  return out;
}

/** Why a record was refused (the name of the ERROR code a storing node answers with). */
export type RecordError = 'KEY_MISMATCH' | 'VALUE_TOO_LARGE' | 'BAD_SIGNATURE' | 'MISSING_FIELDS';

/** Checks that `record` may live under `key`. Returns null when valid. */
export function checkRecord(key: Uint8Array, record: DhtRecord): RecordError | null {
  if (record.value.length > MAX_VALUE_BYTES) return 'VALUE_TOO_LARGE';
  if (record.salt && record.salt.length > MAX_SALT_BYTES) return 'VALUE_TOO_LARGE';
  if (!isMutable(record)) {
    return bytesEqual(key, immutableKey(record.value)) ? null : 'KEY_MISMATCH';
  }
  const { publicKey, signature, seq, salt } = record;
  if (!publicKey || !signature || seq === undefined) return 'MISSING_FIELDS';
  if (!bytesEqual(key, mutableKey(publicKey, salt))) return 'KEY_MISMATCH';
  return verifyEd25519(publicKey, signedPayload(seq, record.value, salt), signature) ? null : 'BAD_SIGNATURE';
}

/** Whether `incoming` may replace `current` under the same mutable key (BEP 44 ordering). */
export function supersedes(current: DhtRecord | undefined, incoming: DhtRecord): 'newer' | 'same' | 'older' | 'conflict' {
  if (!current || !isMutable(incoming)) return 'newer';
  const a = current.seq ?? 0;
  const b = incoming.seq ?? 0;
  if (b > a) return 'newer';
  if (b < a) return 'older';
  return Buffer.compare(current.value, incoming.value) === 0 ? 'same' : 'conflict';
}
