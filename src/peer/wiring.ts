/**
 * Builds a peer's services on its DHT and local state, each given only what it uses: the HELLO
 * handler and client, the contract service, owner transfers, placement, host duties,
 * discovery, the backup engine (through its ports, createBackupEngine) and the order of
 * maintenance. Nothing here starts a timer or sends a datagram; the Peer facade is made from
 * the finished parts.
 */
import { EventEmitter } from 'node:events';
import { toHex } from '../util/bytes.js';
import type { DhtNode } from '../dht/node.js';
import type { Db } from '../storage/database.js';
import type { ShardStore } from '../storage/shard-store.js';
import type { PeerKeys } from '../identity/recovery-key.js';
import { ContractService } from '../contracts/service.js';
import type { Introduce } from '../contracts/introduce.js';
import type { StoredContract } from '../contracts/store.js';
import type { ContractLedger } from '../transfer/server.js';
import { BackupEngine } from '../backup/engine.js';
import { deriveBackupKeys } from '../backup/crypto.js';
import { backupPorts } from './backup-ports.js';
import { Discovery } from './discovery.js';
import type { PeerEvents } from './events.js';
import { Failures } from './failures.js';
import { answerHello, helloClient } from './hello.js';
import { HostDuties } from './host-duties.js';
import { PeerMaintenance } from './maintenance.js';
import { DEFAULTS, type ResolvedPeerOptions } from './options.js';
import { OwnerTransfers } from './owner-transfers.js';
import { PeerPlacer } from './placement.js';
import type { NatService } from '../nat/nat-service.js';
import { peerNatService } from '../nat/peer-nat.js';
import { diskRefusal } from '../storage/write-failures.js';
import { punchingConnect, punchingIntroduce } from '../nat/punch-routes.js';
import { connectDirect } from '../transfer/client.js';
import { friendAddresses, parseFriends } from './friends.js';

/** The local state the services are built on (see startup.ts). */
export interface WiringState {
  keys: PeerKeys;
  db: Db;
  shards: ShardStore;
}

export interface PeerServices {
  /** Where the services report what the Peer emits. */
  events: EventEmitter<PeerEvents>;
  failures: Failures;
  introduce: Introduce;
  contracts: ContractService;
  transfers: OwnerTransfers;
  placer: PeerPlacer;
  hostDuties: HostDuties;
  discovery: Discovery;
  backups: BackupEngine;
  maintenance: PeerMaintenance;
  /** What the TCP server asks about contracts (sockets.ts binds it). */
  ledger: ContractLedger;
  /** Dial-backs, reachability checks and port mapping (src/nat). */
  nat: NatService;
}

export function wireServices(dht: DhtNode, state: WiringState, options: ResolvedPeerOptions): PeerServices {
  const { keys, db, shards } = state;
  const { clock } = options;
  const events = new EventEmitter<PeerEvents>();
  const failures = new Failures();
  const nat = peerNatService(dht, { host: options.host, nat: options.nat, clock });
  // HELLO punches first to a peer behind a NAT whose record named its rendezvous (src/nat).
  const routes = nat.routes;
  const introduce = punchingIntroduce(helloClient(dht.rpc), routes, () => nat);
  // What a host offers is bounded by its disk's real free space (storage/disk-space.ts).
  // Friends are asked first as hosts, found by key wherever they are (friends.ts).
  const friends = friendAddresses(parseFriends(options.nat.friends ?? []), (key) => discovery.findPeer(key), clock);
  const contracts = new ContractService(
    dht,
    db,
    keys.signing,
    clock,
    { ...options.contracts, offered: options.storage, diskBytes: () => shards.space.promisable(), readOnly: () => shards.space.isReadOnly, refusalForWriteError: (err) => diskRefusal(err, shards.space), friends },
    introduce,
  );
  // What we offer and have free right now: HELLO answers and the peer record say it.
  const offer = () => ({ offered: contracts.host.offered, free: contracts.host.freeBytes() });
  answerHello(dht.rpc, keys.signing, () => dht.address, offer, (from) => dht.isProven(from));

  const transfers = new OwnerTransfers(keys.signing, contracts.store, clock, punchingConnect(connectDirect, routes, () => nat));
  const placer = new PeerPlacer(
    { negotiate: (req) => contracts.negotiate(req), cancel: (c) => contracts.owner.cancel(c), store: contracts.store, transfers, clock },
    { uploadConcurrency: options.uploadConcurrency, placementRounds: DEFAULTS.placementRounds },
  );
  const hostDuties = new HostDuties(
    {
      store: contracts.store,
      shards,
      dht,
      clock,
      failures,
      release: (c) => contracts.release(c),
      onStored: (c) => events.emit('stored', { contract: toHex(c.contract.id), owner: toHex(c.counterpart), size: c.contract.terms.shardSize }),
    },
    { rootRepublishIntervalMs: options.rootRepublishIntervalMs },
  );
  const discovery = new Discovery({
    dht,
    signing: keys.signing,
    clock,
    introduce,
    offer,
    rendezvous: () => nat.registeredWith(),
    learnRoute: (peer, rendezvous) => routes.learn(peer, rendezvous),
  });
  // A peer that takes a new address (behind NAT) republishes its record there.
  dht.onAddressChange(() => void discovery.publishRecord().catch(() => {}));
  // A client-only peer's record names its rendezvous: republished when they change.
  nat.onRendezvousChange(() => void discovery.publishRecord().catch(() => {}));
  const backups = createBackupEngine({ dht, contracts, keys, db, options, placer, transfers, discovery });
  const maintenance = new PeerMaintenance({
    clock,
    failures,
    contracts,
    hostDuties,
    backups,
    discovery,
    onBackupReport: (report) => events.emit('maintenance', report),
  });

  // A contract that ended, lapsed or was cancelled no longer needs its shard here.
  const ended = (c: StoredContract) => events.emit('ended', { contract: toHex(c.contract.id), role: c.role, counterpart: toHex(c.counterpart), state: c.state });
  contracts.on('ended', (c) => {
    void hostDuties.dropShardIfUnused(c.contract.terms.shardHash);
    ended(c);
  });
  contracts.on('cancelled', (c) => {
    if (c.role === 'host') void hostDuties.dropShardIfUnused(c.contract.terms.shardHash);
    ended(c);
  });
  contracts.on('defaulter', (key) => events.emit('defaulter', { counterpart: toHex(key) }));

  return { events, failures, introduce, contracts, transfers, placer, hostDuties, discovery, backups, maintenance, ledger: hostDuties.ledger(), nat };
}

/**
 * The backup engine on this peer: its ports (backup-ports.ts) made from the placer, the owner
 * transfers and discovery. The engine's own defaults apply (src/backup/constants.ts); a host
 * is given as long as a counterpart's strikes may stand.
 */
export function createBackupEngine(parts: {
  dht: DhtNode;
  contracts: ContractService;
  keys: PeerKeys;
  db: Db;
  options: ResolvedPeerOptions;
  placer: PeerPlacer;
  transfers: OwnerTransfers;
  discovery: Discovery;
}): BackupEngine {
  const { dht, contracts, keys, db, options, placer, transfers, discovery } = parts;
  const ports = backupPorts({
    dht,
    contractService: contracts,
    signing: keys.signing,
    clock: options.clock,
    placeShard: (file, placing) => placer.place(file, placing),
    fetchShardToFile: (address, target, file, fetching) => transfers.fetchToFile(address, target, file, fetching),
    fetchShardInto: (address, target, sink, receiving) => transfers.fetchInto(address, target, sink, receiving),
    audit: (contract) => transfers.audit(contract, contract.contract.terms.auditSamples),
    findPeer: (publicKey) => discovery.findPeer(publicKey),
  });
  return new BackupEngine(ports, db, options.dataDir, deriveBackupKeys(keys.masterKey), {
    hostGraceMs: options.contracts.graceMs,
    ...options.backup,
  });
}
