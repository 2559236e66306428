/**
 * Start-up of a peer's local state: the data directory and its lock, the identity (loaded, or
 * created from a new or given recovery key), the SQLite database and the shard store. On any
 * failure, whatever was opened is closed again and the lock released.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { lockDataDir } from '../util/dir-lock.js';
import { openDatabase, type Db } from '../storage/database.js';
import { ShardStore } from '../storage/shard-store.js';
import { deriveKeys, type PeerKeys } from '../identity/recovery-key.js';
import { loadOrCreateIdentity } from '../identity/identity-store.js';
import { asDataDirError } from './data-dir-errors.js';

/** A peer's state on disk, opened and locked for this process. */
export interface LocalState {
  keys: PeerKeys;
  /** True when this start created a new identity. */
  created: boolean;
  db: Db;
  shards: ShardStore;
  /** Releases the data directory's lock. */
  unlock: () => Promise<void>;
}

/** Opens (creating if missing) the data directory `dataDir` and everything kept in it. */
export async function openLocalState(dataDir: string, recoveryKey: string | undefined, shardOptions: Parameters<typeof ShardStore.open>[1] = {}): Promise<LocalState> {
  // Read-only, vanished, not ours, a damaged database: one line with the way back (data-dir-errors.ts).
  return openState(dataDir, recoveryKey, shardOptions).catch((err: unknown) => Promise.reject(asDataDirError(err, dataDir)));
}

async function openState(dataDir: string, recoveryKey: string | undefined, shardOptions: Parameters<typeof ShardStore.open>[1]): Promise<LocalState> {
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const unlock = await lockDataDir(dataDir);
  let db: Db | undefined;
  try {
    const identity = await loadOrCreateIdentity(dataDir, recoveryKey);
    const keys = deriveKeys(identity.secret);
    db = openDatabase(path.join(dataDir, 'peer.db'));
    const shards = await ShardStore.open(path.join(dataDir, 'shards'), shardOptions);
    return { keys, created: identity.created, db, shards, unlock };
  } catch (err) {
    db?.close();
    await unlock();
    throw err;
  }
}

/** Closes the database and releases the lock (the shard store holds nothing open). */
export async function closeLocalState(state: Pick<LocalState, 'db' | 'unlock'>): Promise<void> {
  state.db.close();
  await state.unlock();
}
