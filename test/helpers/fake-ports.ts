/**
 * The backup engine's ports (src/backup/ports.ts) over an in-process fake network: hosts are
 * folders, contracts real signed terms, the root record a variable. No sockets, no DHT; a host
 * can lose its data or go silent on demand. Enough to run backup, restore, recovery, audits and
 * repair without eight real peers.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { type Address, formatAddress } from '../../src/net/address.js';
import type { Clock } from '../../src/util/clock.js';
import { generateSigningKeyPair, type SigningKeyPair } from '../../src/crypto/ed25519.js';
import { type Contract, propose } from '../../src/contracts/contract.js';
import type { StoredContract } from '../../src/contracts/store.js';
import { digestFromLeaves, hashLeaf, LEAF_SIZE, type ShardDigest } from '../../src/storage/merkle.js';
import { toHex } from '../../src/util/bytes.js';
import type { BackupPorts } from '../../src/backup/ports.js';
import type { AuditOutcome } from '../../src/transfer/client.js';
import { verifiedDigest, verifiedWrite } from '../../src/transfer/verified-receive.js';
import { ParallelShardHasher } from '../../src/storage/parallel-hasher.js';

export interface FakeHost {
  key: Uint8Array;
  address: Address;
  dir: string;
  /** Answers nothing at all (audits and downloads reject as unreachable). */
  silent: boolean;
}

export class FakeNetwork {
  readonly owner: SigningKeyPair = generateSigningKeyPair();
  readonly hosts: FakeHost[] = [];
  /** Our contracts as owner, as the ContractStore would hold them. */
  readonly contracts: StoredContract[] = [];
  readonly strikes = new Map<string, number>();
  root: { value: Uint8Array; seq: number } | null = null;
  /** Shard placements asked for: replicas wanted, hosts excluded, whether a digest came with it, replicas placed, the shard's size. */
  readonly placements: { replicas: number; exclude: string[]; digest: boolean; placed: number; size: number }[] = [];

  constructor(
    dir: string,
    hosts: number,
    private readonly clock: Clock,
  ) {
    for (let i = 0; i < hosts; i++) {
      const hostDir = path.join(dir, `host-${i}`);
      mkdirSync(hostDir, { recursive: true });
      this.hosts.push({ key: generateSigningKeyPair().publicKey, address: { host: '10.0.0.1', port: 1000 + i }, dir: hostDir, silent: false });
    }
  }

  host(key: Uint8Array): FakeHost {
    return this.hosts.find((h) => Buffer.from(h.key).equals(key))!;
  }

  private at(address: Address): FakeHost | undefined {
    return this.hosts.find((h) => formatAddress(h.address) === formatAddress(address));
  }

  /** Hosts holding a live contract for the shard. */
  holders(shardHex: string): string[] {
    return this.live()
      .filter((c) => toHex(c.contract.terms.shardHash) === shardHex)
      .map((c) => toHex(c.counterpart));
  }

  live(): StoredContract[] {
    return this.contracts.filter((c) => c.state === 'active' || c.state === 'pending');
  }

  /** The host forgets every shard it keeps. */
  loseData(host: FakeHost): void {
    rmSync(host.dir, { recursive: true, force: true });
    mkdirSync(host.dir);
  }

  ports(): BackupPorts {
    return {
      clock: this.clock,
      placer: {
        place: async (file, { replicas, exclude = [], digest }) => {
          // A placement takes a while on a real network: placements running at once overlap.
          await new Promise((resolve) => setTimeout(resolve, 5));
          const { hash, root, size } = digest ?? digestOf(file);
          const excluded = new Set(exclude.map(toHex));
          const chosen = this.hosts.filter((h) => !excluded.has(toHex(h.key)) && !h.silent).slice(0, replicas);
          this.placements.push({ replicas, exclude: [...excluded], digest: digest !== undefined, placed: chosen.length, size });
          const contracts = chosen.map((h) => {
            copyFileSync(file, path.join(h.dir, toHex(hash)));
            const contract = propose(this.owner, {
              host: h.key,
              shardHash: hash,
              shardSize: size,
              merkleRoot: root,
              durationSeconds: 30 * 86_400,
              auditIntervalSeconds: 3600,
              auditSamples: 4,
              ownerOffer: 0,
              nowSeconds: Math.floor(this.clock.now() / 1000),
            });
            return this.store(contract, h, this.clock.now());
          });
          return { hash, size, merkleRoot: root, contracts, refusals: [] };
        },
      },
      fetcher: {
        fetchToFile: async (address, target, file) => {
          const h = this.at(address);
          const stored = h && !h.silent ? path.join(h.dir, toHex(target.terms.shardHash)) : null;
          if (!stored) throw new Error('connection refused');
          if (!existsSync(stored)) throw new Error('NOT_STORED');
          copyFileSync(stored, file);
        },
        // The stored file through the same hashing and checks as a real download.
        fetchInto: async (address, target, sink) => {
          const h = this.at(address);
          const stored = h && !h.silent ? path.join(h.dir, toHex(target.terms.shardHash)) : null;
          if (!stored) throw new Error('connection refused');
          if (!existsSync(stored)) throw new Error('NOT_STORED');
          const hasher = new ParallelShardHasher({ sink });
          await verifiedWrite(hasher, readFileSync(stored), target.terms);
          return verifiedDigest(hasher, target.terms);
        },
      },
      auditor: {
        audit: async (address, contract): Promise<AuditOutcome> => {
          const h = this.at(address);
          if (!h || h.silent) throw new Error('connection refused');
          const stored = path.join(h.dir, toHex(contract.contract.terms.shardHash));
          return existsSync(stored) ? { passed: true, leaves: [0] } : { passed: false, leaves: [0], failure: 'NOT_STORED', reason: 'NOT_STORED' };
        },
      },
      peers: { find: async (key) => this.hosts.find((h) => Buffer.from(h.key).equals(key))?.address ?? null },
      roots: {
        read: async () => this.root,
        publish: async (value, seq) => {
          this.root = { value, seq };
        },
      },
      contracts: {
        live: () => this.live(),
        adopt: (contract, address, now) => {
          if (!this.contracts.some((c) => Buffer.from(c.contract.id).equals(contract.id))) {
            this.contracts.push({ contract, role: 'owner', counterpart: contract.terms.host, counterpartAddress: address, state: 'active', reservedUntil: null, updatedAt: now });
          }
        },
        cancel: async (c) => {
          const stored = this.contracts.find((x) => Buffer.from(x.contract.id).equals(c.contract.id));
          if (stored) stored.state = 'cancelled';
        },
        cancelMany: async (list, _atOnce, sent) => {
          sent?.();
          for (const c of list) {
            const stored = this.contracts.find((x) => Buffer.from(x.contract.id).equals(c.contract.id));
            if (stored) stored.state = 'cancelled';
          }
        },
        cancelById: async () => false,
        honoured: (host) => this.strikes.delete(toHex(host)),
        strike: (host) => this.strikes.set(toHex(host), (this.strikes.get(toHex(host)) ?? 0) + 1),
      },
    };
  }

  private store(contract: Contract, h: FakeHost, now: number): StoredContract {
    const stored: StoredContract = { contract: { ...contract, hostSignature: new Uint8Array(64) }, role: 'owner', counterpart: h.key, counterpartAddress: formatAddress(h.address), state: 'active', reservedUntil: null, updatedAt: now };
    this.contracts.push(stored);
    return stored;
  }
}

/** A shard file's digest (hash, Merkle root, size), read whole: test shards are small. */
function digestOf(file: string): ShardDigest {
  const data = readFileSync(file);
  const leaves: Uint8Array[] = [];
  for (let off = 0; off < data.length; off += LEAF_SIZE) leaves.push(hashLeaf(data.subarray(off, off + LEAF_SIZE)));
  return digestFromLeaves(leaves, data.length);
}
