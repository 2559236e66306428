/**
 * The way back in with only the recovery key: read our root record, fetch the catalog shard it
 * names from any of its hosts, and import every shard, contract and snapshot it lists.
 */
import { promises as fs } from 'node:fs';
import type { Clock } from '../util/clock.js';
import type { BackupKeys } from './crypto.js';
import { firstThatWorks } from './first-that-works.js';
import { decodeCatalog, decodeRootRecord } from './formats.js';
import type { BackupIndex } from './index-db.js';
import { readBlob } from './metadata.js';
import type { OwnerContracts, RootRecords } from './ports.js';
import type { ReplicaLocator } from './replica-locator.js';

export class RecoveryError extends Error {
  readonly code = 'NO_CATALOG_HOST';
  constructor() {
    super('found the backup root record, but none of the hosts of its catalog answered');
    this.name = 'RecoveryError';
  }
}

export interface RecoveryDeps {
  keys: BackupKeys;
  index: BackupIndex;
  roots: Pick<RootRecords, 'read'>;
  contracts: Pick<OwnerContracts, 'adopt'>;
  locator: Pick<ReplicaLocator, 'find' | 'download'>;
  clock: Clock;
}

/** Imports what the root record's catalog lists; does nothing when there is no root record. */
export async function recover(deps: RecoveryDeps): Promise<void> {
  const record = await deps.roots.read();
  if (!record) return;
  const root = decodeRootRecord(record.value);
  const target = (contract: Uint8Array) => ({ id: contract, terms: { shardHash: root.shard, shardSize: root.size, merkleRoot: root.merkleRoot } });
  const shardFile = await firstThatWorks(root.hosts, async (h) => {
    const address = await deps.locator.find(h.host);
    if (!address) throw new Error('host not found');
    // Read at once: through the page cache.
    return deps.locator.download(address, target(h.contract), undefined, false);
  });
  if (!shardFile) throw new RecoveryError();
  try {
    const catalog = decodeCatalog(await readBlob(deps.keys, shardFile, root.catalog));
    const now = deps.clock.now();
    for (const s of catalog.shards) {
      deps.index.addShard({ hash: s.hash, size: s.size, merkleRoot: s.merkleRoot, replicas: s.replicas, kind: s.kind, localPath: null, createdAt: now }, []);
      for (const { contract, address } of s.contracts) deps.contracts.adopt(contract, address, now);
    }
    // Every snapshot's metadata shard is in the catalog, with its contracts.
    for (const s of catalog.snapshots) deps.index.addSnapshot({ ...s, meta: { ...s.meta, shard: s.meta.shard ?? root.shard } });
  } finally {
    await fs.rm(shardFile, { force: true });
  }
}
