/**
 * The name of the file in a data directory that holds the peer's recovery key. A leaf module:
 * `dbs key` reads the file without loading the key's cryptography (identity-store.ts does that).
 */
export const IDENTITY_FILE = 'identity.key';
