/**
 * A shard host without the UDP side: SQLite contract store, shard store and the TCP
 * transfer server on 127.0.0.1, plus helpers to sign contracts for given bytes.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateSigningKeyPair, type SigningKeyPair } from '../../src/crypto/ed25519.js';
import { type Contract, propose, signAsHost } from '../../src/contracts/contract.js';
import { ContractStore, type StoredContract } from '../../src/contracts/store.js';
import { openDatabase, type Db } from '../../src/storage/database.js';
import { ShardHasher } from '../../src/storage/merkle.js';
import { ShardStore } from '../../src/storage/shard-store.js';
import { TransferServer, type TransferServerOptions } from '../../src/transfer/server.js';
import { tempDir } from './temp.js';

export interface Harness {
  dir: string;
  db: Db;
  contracts: ContractStore;
  shards: ShardStore;
  server: TransferServer;
  hostKeys: SigningKeyPair;
  address: { host: string; port: number };
  close(): Promise<void>;
}

export async function startHost(options: Partial<TransferServerOptions> = {}, dir = tempDir('dbs-host-'), port = 0, hostKeys = generateSigningKeyPair()): Promise<Harness> {
  const db = openDatabase(path.join(dir, 'peer.db'));
  const contracts = new ContractStore(db);
  const shards = await ShardStore.open(path.join(dir, 'shards'));
  const server = await TransferServer.listen('127.0.0.1', port, shards, {
    get: (id) => contracts.get(id),
    stored: (c) => contracts.transition(c.contract.id, ['pending'], 'active', Date.now()),
  }, options);
  return {
    dir,
    db,
    contracts,
    shards,
    server,
    hostKeys,
    address: { host: '127.0.0.1', port: server.port },
    async close() {
      await server.close();
      db.close();
    },
  };
}

/** Hash and Merkle root of `data`, as an owner computes them before proposing. */
export function describeShard(data: Uint8Array) {
  const h = new ShardHasher();
  h.update(data);
  const d = h.digest();
  return { hash: d.hash, root: d.root, size: d.size };
}

/** A countersigned contract between `owner` and `hostKeys` for a shard with hash `d.hash`, size and root. */
export function signedContract(hostKeys: SigningKeyPair, owner: SigningKeyPair, d: { hash: Uint8Array; root: Uint8Array; size: number }, over: { ownerOffer?: number } = {}): Contract {
  const proposal = propose(owner, {
    host: hostKeys.publicKey,
    shardHash: d.hash,
    shardSize: d.size,
    merkleRoot: d.root,
    durationSeconds: 86_400,
    auditIntervalSeconds: 3600,
    auditSamples: 8,
    ownerOffer: over.ownerOffer ?? 2 ** 30,
    nowSeconds: Math.floor(Date.now() / 1000),
  });
  return { ...proposal, hostSignature: signAsHost(hostKeys, proposal.id) };
}

/** A contract for `data` between `owner` and the harness's host, countersigned and stored as pending on the host. */
export function contractFor(host: Harness, owner: SigningKeyPair, data: Uint8Array, lie: Partial<{ hash: Uint8Array; size: number }> = {}): Contract {
  const d = describeShard(data);
  const contract = signedContract(host.hostKeys, owner, { ...d, hash: lie.hash ?? d.hash, size: lie.size ?? d.size });
  host.contracts.insert({ contract, role: 'host', counterpartAddress: '127.0.0.1:1', state: 'pending', reservedUntil: Date.now() + 600_000, now: Date.now() });
  return contract;
}

export function stateOf(host: Harness, contract: Contract): StoredContract['state'] | undefined {
  return host.contracts.get(contract.id)?.state;
}

export function randomFile(dir: string, size: number): { file: string; data: Buffer } {
  const data = randomBytes(size);
  const file = path.join(dir, `data-${size}-${data.subarray(0, 4).toString('hex')}`);
  writeFileSync(file, data);
  return { file, data };
}
