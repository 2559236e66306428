/**
 * The backup engine's ports (src/backup/ports.ts) built from the parts of a running peer: the
 * only place that knows how the engine's needs map onto the DHT, the ContractService and the
 * peer's transfer methods.
 */
import type { Address } from '../net/address.js';
import { formatAddress } from '../net/address.js';
import type { Clock } from '../util/clock.js';
import type { SigningKeyPair } from '../crypto/ed25519.js';
import type { DhtNode } from '../dht/node.js';
import { mutableKey } from '../dht/records.js';
import type { ContractService } from '../contracts/service.js';
import type { StoredContract } from '../contracts/store.js';
import type { ShardDigest } from '../storage/merkle.js';
import type { AuditOutcome, ShardTarget } from '../transfer/client.js';
import { ROOT_RECORD_SALT } from '../backup/formats.js';
import type { BackupPorts, PlacedShard, ShardFetcher } from '../backup/ports.js';

/** What the ports are made of: the peer's DHT, contracts, key and clock, and four of its methods. */
export interface BackupPortParts {
  dht: Pick<DhtNode, 'get' | 'putSigned'>;
  contractService: Pick<ContractService, 'store' | 'owner' | 'honoured' | 'strike' | 'lostData'>;
  signing: SigningKeyPair;
  clock: Clock;
  placeShard(file: string, options: { replicas: number; exclude?: Uint8Array[]; digest?: ShardDigest }): Promise<PlacedShard>;
  fetchShardToFile(address: Address, target: ShardTarget, file: string, options?: { direct?: boolean }): Promise<void>;
  fetchShardInto: ShardFetcher['fetchInto'];
  /** Audits the host at the contract's `counterpartAddress`. */
  audit(contract: StoredContract): Promise<AuditOutcome>;
  findPeer(publicKey: Uint8Array): Promise<Address | null>;
}

export function backupPorts(parts: BackupPortParts): BackupPorts {
  const { dht, contractService, signing } = parts;
  const rootKey = mutableKey(signing.publicKey, ROOT_RECORD_SALT);
  return {
    clock: parts.clock,
    placer: { place: (file, options) => parts.placeShard(file, options) },
    fetcher: { fetchToFile: (address, target, file, options) => parts.fetchShardToFile(address, target, file, options), fetchInto: (...args) => parts.fetchShardInto(...args) },
    auditor: { audit: (address, contract) => parts.audit({ ...contract, counterpartAddress: formatAddress(address) }) },
    peers: {
      find: async (publicKey) => {
        const found = await parts.findPeer(publicKey);
        return found ? { host: found.host, port: found.port } : null;
      },
    },
    roots: {
      read: async () => {
        const record = await dht.get(rootKey);
        return record ? { value: record.value, seq: record.seq ?? null } : null;
      },
      publish: async (value, seq) => {
        await dht.putSigned(signing, value, { salt: ROOT_RECORD_SALT, seq });
      },
    },
    contracts: {
      live: () => contractService.store.list({ role: 'owner', live: true }),
      adopt: (contract, address, now) => {
        const store = contractService.store;
        if (!store.get(contract.id)) store.insert({ contract, role: 'owner', counterpartAddress: address, state: 'active', reservedUntil: null, now });
      },
      cancel: (contract) => contractService.owner.cancel(contract),
      cancelMany: (list, atOnce, sent) => contractService.owner.cancelMany(list, atOnce, sent),
      cancelById: (id, address) => contractService.owner.cancelById(id, formatAddress(address)),
      honoured: (host) => contractService.honoured(host),
      // The port's strike is a failed audit: remembered across restarts (contracts/host-failures.ts).
      strike: (host) => contractService.lostData(host),
    },
  };
}
