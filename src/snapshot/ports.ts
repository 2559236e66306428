/**
 * The narrow interfaces (ports) the snapshot modules need from the pipeline around them. Each is
 * a plain function type, so tests pass in-memory fakes and the pipeline passes its own stages.
 */

/** What a blob holds; stored with the blob so a wrong kind is caught on decode too. */
export type BlobKind = 'tree' | 'chunks' | 'index' | 'catalog';

/**
 * A keyed hash of a blob's plaintext (the pipeline: `chunkId(keys, bytes)` from
 * src/backup/crypto.ts, an HMAC-SHA-256 under the owner's ID key). Equal bytes give equal IDs,
 * which is what deduplicates unchanged directories.
 */
export type KeyedHash = (plaintext: Uint8Array) => Uint8Array;

/** What `SaveBlob` did: the blob's ID, and whether it was new (false: already stored, nothing written). */
export interface SavedBlob {
  id: Uint8Array;
  stored: boolean;
}

/**
 * Seals and packs one metadata blob into the shard stream with the file data, keyed by
 * `KeyedHash(bytes)`; if a blob with that ID is already in the index, stores nothing.
 */
export type SaveBlob = (kind: BlobKind, plaintext: Uint8Array) => Promise<SavedBlob>;

/** Reads one blob's plaintext back by ID (from the local shard copy or the network). */
export type LoadBlob = (id: Uint8Array) => Promise<Uint8Array>;
