/**
 * Backup encryption, on node:crypto (hardware AES and SHA): keys derived from the peer's
 * master key, keyed chunk IDs, and sealed chunks.
 *
 * - Chunk ID = HMAC-SHA-256(idKey, plaintext): equal chunks deduplicate, and a host that sees
 *   IDs learns nothing about contents (it cannot test a guess without the key).
 * - Sealed chunk = nonce (12) ‖ AES-256-GCM(dataKey, packed, aad = chunk ID) ‖ tag (16), where
 *   packed = one format byte ‖ body (the plaintext, or its Brotli form when that is smaller:
 *   see compress.ts). Opening checks the tag, unpacks, and then checks that the plaintext
 *   hashes back to the ID, so a chunk can be neither altered nor swapped for another.
 * - The chunker's gear table is derived from the key too, so chunk boundaries (and sizes) do
 *   not reveal which known file a backup contains.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomFillSync } from 'node:crypto';
import { FORMAT_BYTES, pack, unpack } from './compress.js';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Bytes a sealed chunk adds to its packed body. */
export const SEAL_OVERHEAD = NONCE_BYTES + FORMAT_BYTES + TAG_BYTES;
/** Where the plaintext goes in a buffer sealed in place: the body's own place in the sealed chunk. */
export const SEAL_HEAD = NONCE_BYTES + FORMAT_BYTES;
/**
 * Bytes the cipher takes per call when sealing or opening in place: each call returns a new
 * buffer, and small ones are recycled by the allocator where a chunk-sized one would be fresh
 * memory every time (on this VM a page touched for the first time costs more than encrypting it).
 */
const PIECE_BYTES = 64 * 1024;

export interface BackupKeys {
  idKey: Uint8Array;
  dataKey: Uint8Array;
  chunkerSeed: Uint8Array;
}

export function deriveBackupKeys(masterKey: Uint8Array): BackupKeys {
  const derive = (label: string) => new Uint8Array(hkdfSync('sha256', masterKey, 'dbs-backup-v1', label, 32));
  return { idKey: derive('chunk-id'), dataKey: derive('chunk-data'), chunkerSeed: derive('chunker') };
}

/**
 * Random nonces drawn from a buffer the CSPRNG fills 4 KiB at a time: the same randomness as a
 * randomBytes(12) per chunk, without a getrandom call per chunk (it showed in the profile of a
 * backup of small files). Each nonce is a copy, never handed out twice.
 */
const noncePool = Buffer.alloc(4096);
let noncePoolAt = noncePool.length;
function nextNonce(): Buffer {
  if (noncePoolAt + NONCE_BYTES > noncePool.length) {
    randomFillSync(noncePool);
    noncePoolAt = 0;
  }
  const nonce = Buffer.from(noncePool.subarray(noncePoolAt, noncePoolAt + NONCE_BYTES));
  noncePoolAt += NONCE_BYTES;
  return nonce;
}

export function chunkId(keys: BackupKeys, plaintext: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', keys.idKey).update(plaintext).digest());
}

export function seal(keys: BackupKeys, id: Uint8Array, plaintext: Uint8Array): Buffer {
  return Buffer.concat(sealParts(keys, id, plaintext));
}

/**
 * The sealed chunk as its parts in order (nonce, ciphertext..., tag), for a writer that copies
 * them into its own buffer anyway: no concatenation of a multi-megabyte chunk.
 */
export function sealParts(keys: BackupKeys, id: Uint8Array, plaintext: Uint8Array): Buffer[] {
  const { format, body } = pack(plaintext);
  const nonce = nextNonce();
  const cipher = createCipheriv('aes-256-gcm', keys.dataKey, nonce);
  cipher.setAAD(id);
  // GCM is a stream mode: the format byte and the body encrypt as one message without
  // copying the body behind it; final() adds nothing, but it is part of the API contract.
  const parts = [nonce, cipher.update(format), cipher.update(body)];
  const rest = cipher.final();
  if (rest.length > 0) parts.push(rest);
  parts.push(cipher.getAuthTag());
  return parts;
}

/**
 * Seals the plaintext at buffer[SEAL_HEAD, SEAL_HEAD + length) in place: the sealed chunk ends up
 * at buffer[0, returned length), the same bytes `seal` makes. The buffer needs room for
 * length + SEAL_OVERHEAD bytes.
 */
export function sealInPlace(keys: BackupKeys, id: Uint8Array, buffer: Buffer, length: number): number {
  if (buffer.length < length + SEAL_OVERHEAD) throw new Error('buffer too small to seal in place');
  const { format, body } = pack(buffer.subarray(SEAL_HEAD, SEAL_HEAD + length));
  const nonce = nextNonce();
  const cipher = createCipheriv('aes-256-gcm', keys.dataKey, nonce);
  cipher.setAAD(id);
  nonce.copy(buffer, 0);
  let at = NONCE_BYTES + cipher.update(format).copy(buffer, NONCE_BYTES);
  // Each piece is encrypted before it is written back to where it was read from (or, for a
  // compressed body, over plaintext that is no longer needed).
  for (let off = 0; off < body.length; off += PIECE_BYTES) at += cipher.update(body.subarray(off, off + PIECE_BYTES)).copy(buffer, at);
  at += cipher.final().copy(buffer, at);
  return at + cipher.getAuthTag().copy(buffer, at);
}

/**
 * `open`, decrypting into `out` instead of new memory: returns the plaintext, a view of `out`
 * (or, for a compressed chunk, the decompressed bytes). `out` needs room for the sealed chunk's
 * length; it may be the buffer `sealed` lies in, if it starts at or before `sealed` (each piece
 * is written at or before where it was read from). Nothing in `out` may be used if this throws.
 * `checkId: false` leaves the ID check (checkChunkId) to the caller, for a thread that has
 * cycles to spare; the plaintext must not be used before it.
 */
export function openInto(keys: BackupKeys, id: Uint8Array, sealed: Uint8Array, out: Buffer, options: { checkId?: boolean } = {}): Buffer {
  if (sealed.length < SEAL_OVERHEAD) throw new Error('sealed chunk is too short');
  if (out.length < sealed.length) throw new Error('buffer too small to open into');
  const decipher = createDecipheriv('aes-256-gcm', keys.dataKey, sealed.subarray(0, NONCE_BYTES));
  decipher.setAAD(id);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const end = sealed.length - TAG_BYTES;
  let at = 0;
  try {
    for (let off = NONCE_BYTES; off < end; off += PIECE_BYTES) at += decipher.update(sealed.subarray(off, Math.min(end, off + PIECE_BYTES))).copy(out, at);
    at += decipher.final().copy(out, at);
  } catch {
    throw new Error('chunk failed authentication (altered or wrong key)');
  }
  const plain = unpack(out.subarray(0, at));
  if (options.checkId !== false) checkChunkId(keys, id, plain);
  return plain;
}

/** Throws unless `plain` hashes to `id`: the last check of every opened chunk. */
export function checkChunkId(keys: BackupKeys, id: Uint8Array, plain: Uint8Array): void {
  if (!Buffer.from(chunkId(keys, plain)).equals(id)) throw new Error('chunk content does not match its ID');
}

/** Decrypts and checks a sealed chunk; throws if it was altered or is not the chunk `id`. */
export function open(keys: BackupKeys, id: Uint8Array, sealed: Uint8Array): Buffer {
  if (sealed.length < SEAL_OVERHEAD) throw new Error('sealed chunk is too short');
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', keys.dataKey, nonce);
  decipher.setAAD(id);
  decipher.setAuthTag(tag);
  let packed: Buffer;
  try {
    packed = decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES));
    const rest = decipher.final();
    if (rest.length > 0) packed = Buffer.concat([packed, rest]);
  } catch {
    throw new Error('chunk failed authentication (altered or wrong key)');
  }
  // Only bytes we sealed ourselves get this far (the tag checked), so unpacking is safe.
  const plain = unpack(packed);
  if (!Buffer.from(chunkId(keys, plain)).equals(id)) throw new Error('chunk content does not match its ID');
  return plain;
}
