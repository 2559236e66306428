/**
 * The way back in with only the recovery key (docs/snapshot-format.md, "A new machine"): read
 * our root record (v2), fetch the shard holding the head catalog segment from one of its hosts,
 * walk the chain back to its base learning where older shards are, replay it oldest first, then
 * rebuild the chunk index from the index deltas, one piece at a time. Every shard fetched is
 * verified and kept as our local copy (the head shard's contracts are only in the root record
 * by key and ID, so repair re-replicates it from that copy, and those are kept by ID for prune
 * to cancel: unrecorded-contracts.ts).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { replayCatalog } from '../snapshot/catalog-delta.js';
import type { CatalogRecord } from '../snapshot/catalog-records.js';
import { MemoryCatalog } from '../snapshot/catalog-state.js';
import { rebuildIndex } from '../snapshot/index-delta.js';
import { contractIdFromEncoded, decodeTerms } from '../contracts/contract.js';
import { type Address, parseAddress } from '../net/address.js';
import { fsyncDir } from '../util/atomic-file.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import type { Clock } from '../util/clock.js';
import { readSealed } from './blob-reader.js';
import type { CatalogDb } from './catalog-db.js';
import type { BackupKeys } from './crypto.js';
import { firstThatWorks } from './first-that-works.js';
import type { BackupIndex } from './index-db.js';
import type { OwnerContracts, RootRecords } from './ports.js';
import type { ReplicaLocator } from './replica-locator.js';
import { decodeRootRecordV2 } from './root-record.js';
import type { UnrecordedContracts } from './unrecorded-contracts.js';

export class RecoveryError extends Error {
  readonly code = 'NO_CATALOG_HOST';
  constructor(what = 'its catalog') {
    super(`found the backup root record, but none of the hosts of ${what} answered`);
    this.name = 'RecoveryError';
  }
}

export interface RecoveryDeps {
  keys: BackupKeys;
  index: BackupIndex;
  catalog: CatalogDb;
  roots: Pick<RootRecords, 'read'>;
  contracts: Pick<OwnerContracts, 'adopt'>;
  /** Where the head shard's contracts, known only by host and ID, are kept for prune. */
  unrecorded: Pick<UnrecordedContracts, 'add'>;
  locator: Pick<ReplicaLocator, 'find' | 'download'>;
  clock: Clock;
  /** Where our shard copies are kept (fetched shards land there). */
  own: string;
  /** Where downloads go first. */
  tmp: string;
}

interface ShardSource {
  size: number;
  merkleRoot: Uint8Array;
  hosts: { host: Uint8Array; contract: Uint8Array; address: string | null }[];
}

/** Imports the catalog and index the root record leads to; does nothing when there is no root record. */
export async function recover(deps: RecoveryDeps): Promise<void> {
  const record = await deps.roots.read();
  if (!record) return;
  // A first-format record fails here as SnapshotFormatError LEGACY_SNAPSHOT (typed, not a crash).
  const root = decodeRootRecordV2(record.value);
  const sources = new Map<string, ShardSource>([[toHex(root.head.shard), { size: root.size, merkleRoot: root.merkleRoot, hosts: root.hosts.map((h) => ({ ...h, address: null })) }]]);
  const learn = (r: CatalogRecord) => {
    if (r.type !== 'contract-added') return;
    const terms = decodeTerms(r.terms);
    const key = toHex(terms.shardHash);
    const source = sources.get(key) ?? { size: terms.shardSize, merkleRoot: terms.merkleRoot, hosts: [] };
    if (!source.hosts.some((h) => bytesEqual(h.contract, r.id))) source.hosts.push({ host: terms.host, contract: r.id, address: r.address });
    sources.set(key, source);
  };
  const work = await fs.mkdtemp(path.join(deps.tmp, 'recover-'));
  const fetched = new Map<string, Promise<string>>();
  const shardFile = (hash: Uint8Array): Promise<string> => {
    const key = toHex(hash);
    let file = fetched.get(key);
    if (!file) {
      file = fetchShard(deps, hash, sources.get(key), work);
      fetched.set(key, file);
    }
    return file;
  };
  try {
    const state = new MemoryCatalog();
    await replayCatalog({ seq: root.seq, location: root.head }, async (loc) => readSealed(deps.keys, await shardFile(loc.shard), loc), state, learn);
    const now = deps.clock.now();
    const { index, catalog } = deps;
    const shards = state.shards();
    const contracts = state.contracts();
    const pieces = state.indexPieces().map((p) => ({ ...p, shard: p.shard! }));
    const replicas = Math.max(1, root.hosts.length, ...shards.map((s) => s.replicas));
    // The catalog in one transaction: one commit, not one per shard and contract.
    index.transaction(() => {
      for (const s of shards) index.addShard({ hash: s.hash, size: s.size, merkleRoot: s.merkleRoot, replicas: s.replicas, kind: s.kind, localPath: null, createdAt: now }, []);
      // The head shard is named by the root record only (its own segment cannot record it).
      if (!index.shard(root.head.shard)) index.addShard({ hash: root.head.shard, size: root.size, merkleRoot: root.merkleRoot, replicas, kind: 'data', localPath: null, createdAt: now }, []);
      for (const c of contracts) {
        if (!c.hostSignature) continue;
        deps.contracts.adopt({ terms: decodeTerms(c.terms), id: contractIdFromEncoded(c.terms), ownerSignature: c.ownerSignature, hostSignature: c.hostSignature }, c.address, now);
      }
      catalog.recorded([...shards, ...contracts], true);
      const adopted = new Set(contracts.map((c) => toHex(contractIdFromEncoded(c.terms))));
      deps.unrecorded.add(root.hosts.filter((h) => !adopted.has(toHex(h.contract))).map((h) => ({ id: h.contract, host: h.host, shard: root.head.shard })), now);
      catalog.addPieces(pieces, root.head.shard, true);
      catalog.setHead({ seq: root.seq, base: root.base, location: root.head });
      // Every shard's chunks are in the deltas just replayed.
      index.markIndexed([...shards.map((s) => s.hash), root.head.shard]);
    });
    const known = new Set([...shards.map((s) => toHex(s.hash)), toHex(root.head.shard)]);
    await rebuildIndex(pieces, async (p) => readSealed(deps.keys, await shardFile(p.shard), p), {
      // A chunk in a shard the catalog no longer lists is gone with it.
      apply: (entries) => index.putChunks(entries.filter((e) => known.has(toHex(e.shard)))),
    });
    // Snapshots last: a machine that lists them has their index too.
    index.transaction(() => {
      for (const s of state.snapshots()) index.addSnapshot({ id: s.id, createdAt: s.createdAt, source: s.source, files: s.files, bytes: s.bytes, root: s.root, parent: s.parent, ...(s.tags ? { tags: s.tags } : {}) });
    });
    // Keep what was fetched as our own copies: restores read them, repair places from them.
    for (const [key, file] of fetched) {
      const local = path.join(deps.own, key);
      await fs.rename(await file, local);
      index.setLocalPath(Buffer.from(key, 'hex'), local);
    }
    await fsyncDir(deps.own);
  } finally {
    await Promise.allSettled(fetched.values());
    await fs.rm(work, { recursive: true, force: true });
  }
}

async function fetchShard(deps: RecoveryDeps, hash: Uint8Array, source: ShardSource | undefined, dir: string): Promise<string> {
  if (!source) throw new RecoveryError(`shard ${toHex(hash).slice(0, 16)}… (no catalog record names its hosts)`);
  const file = await firstThatWorks(source.hosts, async (h) => {
    const address: Address | null = (h.address ? parseAddress(h.address) : null) ?? (await deps.locator.find(h.host));
    if (!address) throw new Error('host not found');
    // Read at once: through the page cache.
    return deps.locator.download(address, { id: h.contract, terms: { shardHash: hash, shardSize: source.size, merkleRoot: source.merkleRoot } }, dir, false);
  });
  if (!file) throw new RecoveryError(`shard ${toHex(hash).slice(0, 16)}…`);
  return file;
}
