/**
 * The recovery key: one 32-byte secret from which everything a peer owns is derived.
 *
 * Shown to people as `dbs1-` followed by the secret and a 2-byte checksum in base32, in
 * groups of five, e.g. `dbs1-abcde-fghij-...`. Parsing ignores case, spaces and dashes, and
 * the checksum catches a mistyped character before it can produce a wrong identity.
 *
 * HKDF-SHA-256 (node:crypto) derives, with distinct labels: the Ed25519 seed of the peer's
 * durable identity, and the master key for encrypting backups.
 */
import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { type SigningKeyPair, signingKeyPairFromSeed } from '../crypto/ed25519.js';

export const RECOVERY_KEY_BYTES = 32;
const PREFIX = 'dbs1';
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const SALT = Buffer.from('distributed-backup-system/recovery-key/v1');

/** Everything derived from a recovery key. */
export interface PeerKeys {
  /** The 32-byte secret itself. */
  secret: Uint8Array;
  /** The peer's durable identity; its public key is how others know it across address changes. */
  signing: SigningKeyPair;
  /** Root key for backup encryption (later issues derive per-purpose keys from it). */
  masterKey: Uint8Array;
}

export function generateRecoverySecret(): Uint8Array {
  return new Uint8Array(randomBytes(RECOVERY_KEY_BYTES));
}

export function deriveKeys(secret: Uint8Array): PeerKeys {
  if (secret.length !== RECOVERY_KEY_BYTES) throw new Error(`a recovery key holds ${RECOVERY_KEY_BYTES} bytes`);
  const derive = (label: string) => new Uint8Array(hkdfSync('sha256', secret, SALT, label, 32));
  return {
    secret: Uint8Array.from(secret),
    signing: signingKeyPairFromSeed(derive('ed25519-identity')),
    masterKey: derive('backup-master'),
  };
}

/** The copyable text form of a secret. */
export function formatRecoveryKey(secret: Uint8Array): string {
  if (secret.length !== RECOVERY_KEY_BYTES) throw new Error(`a recovery key holds ${RECOVERY_KEY_BYTES} bytes`);
  const body = base32(Buffer.concat([secret, checksum(secret)]));
  return [PREFIX, ...(body.match(/.{1,5}/g) ?? [])].join('-');
}

/** Parses the text form; throws a one-line error saying what is wrong with it. */
export function parseRecoveryKey(text: string): Uint8Array {
  const compact = text.trim().toLowerCase().replace(/[\s-]/g, '');
  if (!compact.startsWith(PREFIX)) throw new Error(`not a recovery key: it should start with "${PREFIX}-"`);
  const bytes = unbase32(compact.slice(PREFIX.length));
  if (!bytes || bytes.length !== RECOVERY_KEY_BYTES + 2) throw new Error('not a recovery key: wrong length or characters (check for a missing or extra group)');
  const secret = bytes.subarray(0, RECOVERY_KEY_BYTES);
  if (!Buffer.from(checksum(secret)).equals(bytes.subarray(RECOVERY_KEY_BYTES))) {
    throw new Error('recovery key checksum does not match: a character is mistyped');
  }
  return new Uint8Array(secret);
}

function checksum(secret: Uint8Array): Buffer {
  return createHash('sha256').update('dbs1-checksum').update(secret).digest().subarray(0, 2);
}

function base32(data: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

function unbase32(text: string): Buffer | null {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return null;
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}
