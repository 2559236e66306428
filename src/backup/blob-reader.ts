/**
 * Reads sealed blobs (trees, chunk lists, index pieces, catalog segments) back out of shard
 * files: found through the chunk index by ID, or at a known location. The shard file comes
 * from the caller (our local copy, or a verified download), located once per shard.
 */
import { closeSync, openSync, promises as fs } from 'node:fs';
import type { ResolvedLocation } from '../snapshot/catalog-records.js';
import { toHex } from '../util/bytes.js';
import { readFullySync } from '../util/read-fully.js';
import { type BackupKeys, open } from './crypto.js';
import type { BackupIndex } from './index-db.js';
import type { ReplicaLocator } from './replica-locator.js';
import { SYNC_READ_BYTES } from './constants.js';

/** A blob is in no shard we can read: its ID is not indexed, or no replica of its shard answered. */
export class MissingBlobError extends Error {
  readonly code = 'MISSING_BLOB';
  constructor(id: Uint8Array, why: string) {
    super(`snapshot metadata ${toHex(id).slice(0, 16)}… cannot be read: ${why}`);
    this.name = 'MissingBlobError';
  }
}

export class BlobReader {
  constructor(
    private readonly keys: BackupKeys,
    private readonly index: Pick<BackupIndex, 'chunk'>,
    /** A verified local file holding the shard, or null if none can be had. */
    private readonly shardFile: (hash: Uint8Array) => Promise<string | null>,
  ) {}

  /** The blob `id`'s plaintext, found through the index (the LoadBlob port of src/snapshot). */
  load = async (id: Uint8Array): Promise<Uint8Array> => {
    const loc = this.index.chunk(id);
    if (!loc) throw new MissingBlobError(id, 'not in the index');
    return this.loadAt({ id, ...loc });
  };

  /** The blob at a known location (index pieces and catalog segments). */
  async loadAt(loc: ResolvedLocation): Promise<Uint8Array> {
    const file = await this.shardFile(loc.shard);
    if (!file) throw new MissingBlobError(loc.id, 'no replica of its shard answered');
    return readSealed(this.keys, file, loc);
  }
}

/**
 * Opens the sealed blob at `loc` in a shard file (checked against its ID). A blob of up to
 * SYNC_READ_BYTES (a tree of a folder of a few thousand entries) is read with synchronous calls:
 * a walk loads one tree per folder, and open, read and close through the thread pool cost ~10x
 * their own CPU (a restore walks the trees three times).
 */
export async function readSealed(keys: BackupKeys, file: string, loc: Omit<ResolvedLocation, 'shard'>): Promise<Buffer> {
  if (loc.length <= SYNC_READ_BYTES) {
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(loc.length);
      if (readFullySync(fd, buf, 0, loc.length, loc.offset) !== loc.length) throw new Error('shard is shorter than its index says');
      return open(keys, loc.id, buf);
    } finally {
      closeSync(fd);
    }
  }
  const handle = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(loc.length);
    const { bytesRead } = await handle.read(buf, 0, loc.length, loc.offset);
    if (bytesRead !== loc.length) throw new Error('shard is shorter than its index says');
    return open(keys, loc.id, buf);
  } finally {
    await handle.close();
  }
}

/**
 * A shard file for each hash, looked up once: our local copy, else a copy fetched (whole or
 * from pieces) into `dir`; null when no host supplies it. What readers of metadata blobs
 * (browse, ls/diff/find, prune) hand a BlobReader.
 */
export function cachedShardFiles(
  locator: Pick<ReplicaLocator, 'localCopy' | 'fetchShard'>,
  index: Pick<BackupIndex, 'shard'>,
  dir: string,
): (hash: Uint8Array) => Promise<string | null> {
  const located = new Map<string, Promise<string | null>>();
  return (hash) => {
    let file = located.get(toHex(hash));
    if (!file) located.set(toHex(hash), (file = (async () => (await locator.localCopy(index.shard(hash))) ?? locator.fetchShard(hash, dir, false))()));
    return file;
  };
}
