/**
 * Contracts on a running peer: registers the PROPOSE and CANCEL handlers on the peer's UDP
 * endpoint (HELLO is the peer's own: src/peer/hello.ts), and runs the periodic bookkeeping:
 * lapsed reservations are released, ended contracts expire, and counterparts whose strikes
 * outlast the grace period become defaulters whose contracts we cancel.
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../util/clock.js';
import type { Contact } from '../net/node-id.js';
import { formatAddress } from '../net/address.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import type { DhtNode } from '../dht/node.js';
import type { Reply } from '../rpc/rpc.js';
import type { SigningKeyPair } from '../crypto/ed25519.js';
import type { Db } from '../storage/database.js';
import type { Introduce } from './introduce.js';
import { addressCheck, ProposalCookies } from './address-cookies.js';
import { CLOCK_TOLERANCE_SECONDS, verifyCancel, verifyCancelMany } from './contract.js';
import { ContractHost, type HostConfig } from './host.js';
import { Cancel, Cancelled, Propose } from './messages.js';
import { ContractOwner, type NegotiationRequest, type NegotiationResult, type OwnerConfig } from './negotiation.js';
import { debt, recordHonoured, recordStrike, reviewStanding } from './policy.js';
import { ContractStore, type StoredContract } from './store.js';

export interface ContractServiceConfig extends HostConfig, OwnerConfig {
  /** How long strikes may stand before a counterpart is declared a defaulter. */
  graceMs: number;
}

/** One contract as `peer.contracts()` shows it. */
export interface ContractInfo {
  id: string;
  role: 'owner' | 'host';
  counterpart: string;
  counterpartAddress: string | null;
  shardHash: string;
  size: number;
  state: StoredContract['state'];
  createdAt: number;
  expiresAt: number;
}

/** One counterpart as `peer.ledger()` shows it. */
export interface LedgerInfo {
  counterpart: string;
  lastAddress: string | null;
  /** Bytes we keep for them (live contracts). */
  keptForThem: number;
  /** Bytes they keep for us (live contracts). */
  keptByThem: number;
  strikes: number;
  /** ms since the epoch, or null. */
  defaulterSince: number | null;
}

export interface ContractEvents {
  /** The counterpart cancelled a contract (as host: our shard is no longer kept). */
  cancelled: [StoredContract];
  /** A counterpart became a defaulter; its contracts with us are being cancelled. */
  defaulter: [Uint8Array];
  /** A reservation lapsed or a contract ended: the shard may be deleted. */
  ended: [StoredContract];
}

/** How long ended contracts stay in the database (for `dbs contracts` and debugging). */
export const ENDED_CONTRACT_RETENTION_MS = 7 * 86_400_000;

export class ContractService extends EventEmitter<ContractEvents> {
  readonly store: ContractStore;
  readonly host: ContractHost;
  readonly owner: ContractOwner;

  constructor(
    dht: DhtNode,
    db: Db,
    keys: SigningKeyPair,
    private readonly clock: Clock,
    private readonly config: ContractServiceConfig,
    introduce: Introduce,
  ) {
    super();
    this.store = new ContractStore(db);
    this.host = new ContractHost(this.store, keys, clock, { ...config, checkAddress: addressCheck(new ProposalCookies(clock), (from) => dht.isProven(from)) });
    this.owner = new ContractOwner(
      dht,
      this.store,
      keys,
      clock,
      config,
      () => config.offered,
      (key) => this.strike(key),
      (key) => this.honoured(key),
      introduce,
    );
    dht.rpc.handle(Propose, (body, from) => this.host.onPropose(body, from));
    dht.rpc.handle(Cancel, (body, from) => this.onCancel(body, from));
  }

  negotiate(req: NegotiationRequest): Promise<NegotiationResult> {
    return this.owner.negotiate(req);
  }

  /** `key` honoured us (accepted a proposal, passed an audit): its strikes are forgiven. */
  honoured(key: Uint8Array): void {
    const standing = this.store.counterpart(key);
    if (standing.strikes > 0) this.store.saveStanding(key, recordHonoured(standing), this.clock.now());
  }

  /**
   * `key` failed an audit (lost or altered our data): remembered for good, so it is never chosen
   * again, even after a restart, and struck like any other failure.
   */
  lostData(key: Uint8Array): void {
    this.store.failures.record(key, this.clock.now());
    this.strike(key);
  }

  /** Records an unexcused refusal, an unanswered request or a failed audit by `key`. */
  strike(key: Uint8Array): void {
    this.store.saveStanding(key, recordStrike(this.store.counterpart(key), this.clock.now()), this.clock.now());
  }

  private onCancel(body: { contractId: Uint8Array; signature: Uint8Array; more?: Uint8Array[]; manySignature?: Uint8Array }, from: Contact): Reply | undefined {
    const stored = this.store.get(body.contractId);
    // Unknown contracts and forged cancellations get no answer at all.
    if (!stored || !verifyCancel(stored.counterpart, body.contractId, body.signature)) return undefined;
    // Several at once (a prune): `msig` covers them all; only contracts with the same counterpart.
    const more = body.more ?? [];
    if (more.length > 0 && !(body.manySignature && verifyCancelMany(stored.counterpart, [body.contractId, ...more], body.manySignature))) return undefined;
    const others = more.map((id) => this.store.get(id)).filter((c): c is StoredContract => c !== undefined && bytesEqual(c.counterpart, stored.counterpart));
    // One commit for all, not waiting for the disk: an owner's prune sends many of these, and a
    // cancel lost to a power cut only keeps the shard here until the contract ends.
    const moved = this.store.transactionWithoutSync(() => {
      const now = this.clock.now();
      const done = [stored, ...others].filter((c) => this.store.transition(c.contract.id, ['pending', 'active'], 'cancelled', now));
      if (done.length > 0) this.store.sawCounterpart(stored.counterpart, formatAddress(from), null, now);
      return done;
    });
    for (const c of moved) this.emit('cancelled', { ...c, state: 'cancelled' });
    return { spec: Cancelled, body: { contractId: body.contractId, ...(more.length > 0 ? { more: others.map((c) => c.contract.id) } : {}) } };
  }

  /** Gives back the space of a host reservation whose upload cannot be kept (e.g. the disk is full). */
  release(c: StoredContract): void {
    if (c.role === 'host' && this.store.transition(c.contract.id, ['pending'], 'released', this.clock.now())) this.emit('ended', { ...c, state: 'released' });
  }

  /**
   * Releases lapsed reservations, expires ended contracts, deals with defaulters, and forgets
   * contracts that ended more than a week ago (so the database does not grow with every repair).
   */
  async maintain(): Promise<void> {
    const now = this.clock.now();
    this.store.purgeEnded(now - ENDED_CONTRACT_RETENTION_MS);
    await this.owner.resendCancels();
    for (const c of this.store.lapsedReservations(now)) {
      if (this.store.transition(c.contract.id, ['pending'], 'released', now)) this.emit('ended', { ...c, state: 'released' });
    }
    // As host, a contract ends only once the tolerance has passed too: a host whose clock runs
    // ahead by up to CLOCK_TOLERANCE_SECONDS still keeps the shard while its owner may audit it.
    const nowSeconds = Math.floor(now / 1000);
    for (const c of this.store.endedContracts(nowSeconds)) {
      if (c.role === 'host' && c.contract.terms.expiresAt > nowSeconds - CLOCK_TOLERANCE_SECONDS) continue;
      if (this.store.transition(c.contract.id, ['pending', 'active'], 'expired', now)) this.emit('ended', { ...c, state: 'expired' });
    }
    for (const cp of this.store.counterparts()) {
      const change = reviewStanding(cp, () => debt(this.store.balance(cp.key)), now, this.config.graceMs);
      if (!change) continue;
      this.store.saveStanding(cp.key, change.standing, now);
      if (change.kind === 'forgiven') continue;
      this.emit('defaulter', cp.key);
      for (const c of this.store.list({ counterpart: cp.key, role: 'host', live: true })) await this.cancelAsHost(c);
    }
  }

  /** Stops keeping a shard for its owner: signed cancel, best effort. */
  private async cancelAsHost(c: StoredContract): Promise<void> {
    this.emit('ended', { ...c, state: 'cancelled' });
    await this.owner.cancel(c);
  }

  contracts(): ContractInfo[] {
    return this.store.listPlain().map((c) => ({
      id: toHex(c.id),
      role: c.role,
      counterpart: toHex(c.counterpart),
      counterpartAddress: c.counterpartAddress,
      shardHash: toHex(c.shardHash),
      size: c.size,
      state: c.state,
      createdAt: c.createdAt,
      expiresAt: c.expiresAt,
    }));
  }

  ledger(): LedgerInfo[] {
    const balances = new Map(this.store.ledger().map((l) => [toHex(l.counterpart), l]));
    return this.store.counterparts().map((cp) => {
      const b = balances.get(toHex(cp.key));
      return {
        counterpart: toHex(cp.key),
        lastAddress: cp.lastAddress,
        keptForThem: b?.keptForThem ?? 0,
        keptByThem: b?.keptByThem ?? 0,
        strikes: cp.strikes,
        defaulterSince: cp.defaulterSince,
      };
    });
  }
}
