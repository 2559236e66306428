/**
 * The host's side of a proposal: check it, apply the reciprocity policy, and either refuse
 * with a reason or countersign and reserve the space. The whole decision runs synchronously
 * against SQLite, so two proposals can never both take the last free bytes.
 */
import type { Clock } from '../util/clock.js';
import type { Contact } from '../net/node-id.js';
import { formatAddress } from '../net/address.js';
import type { Reply } from '../rpc/rpc.js';
import type { SigningKeyPair } from '../crypto/ed25519.js';
import { type Contract, contractIdFromEncoded, decodeTerms, signAsHost, verifyContract } from './contract.js';
import { Accept, Reject } from './messages.js';
import { decideProposal, RejectReason, type RejectReasonName } from './policy.js';
import type { ContractStore } from './store.js';

export interface HostConfig {
  /** Bytes this peer offers to keep for others. */
  offered: number;
  /** Credit a network prefix gets before it must keep data for us (see policy.ts). */
  allowance: number;
  /** How long an accepted proposal's space is held for the shard to arrive. */
  uploadTimeoutMs: number;
  /** Proposals older than this are refused as expired (bounds the replay window). */
  proposalMaxAgeSeconds: number;
  /**
   * Bytes the data directory's disk can still take beyond its reserve (storage/disk-space.ts);
   * absent: no disk bound (tests with in-memory stores).
   */
  diskBytes?: () => number;
  /**
   * A write to the database failed while accepting: the refusal to send for it (storage's
   * `diskRefusal`, which also starts the disk's episode), or null to let it throw.
   */
  refusalForWriteError?: (err: unknown) => 'DISK_FULL' | 'READ_ONLY' | null;
  /** True while the data directory is read-only (storage/read-only.ts); absent: never. */
  readOnly?: () => boolean;
  /**
   * Return routability before reserving (address-cookies.ts): null when `from` is proven, else
   * the cookie to send it. Absent: every source counts as proven (tests of the policy alone).
   */
  checkAddress?: (from: Contact, contractId: Uint8Array, cookie: Uint8Array | undefined) => Uint8Array | null;
}

export interface HostCounters {
  accepted: number;
  rejected: Partial<Record<RejectReasonName, number>>;
}

export class ContractHost {
  readonly counters: HostCounters = { accepted: 0, rejected: {} };

  constructor(
    private readonly store: ContractStore,
    private readonly keys: SigningKeyPair,
    private readonly clock: Clock,
    private readonly config: HostConfig,
  ) {}

  /** Bytes offered and not yet promised to anyone, bounded by what the disk can really take. */
  freeBytes(): number {
    return Math.min(this.offeredFree(), this.diskFree());
  }

  /** Bytes offered and not yet promised (`--storage` minus live contracts). */
  private offeredFree(): number {
    return Math.max(0, this.config.offered - this.store.hostedBytes());
  }

  /** What the disk can take once the reservations still waiting for their upload arrive. */
  private diskFree(): number {
    const disk = this.config.diskBytes?.() ?? Infinity;
    return disk === Infinity ? Infinity : Math.max(0, disk - this.store.pendingHostBytes());
  }

  get offered(): number {
    return this.config.offered;
  }

  /** Answers a CONTRACT_PROPOSE. */
  onPropose(body: { terms: Uint8Array; ownerSignature: Uint8Array; cookie?: Uint8Array }, from: Contact): Reply {
    const id = contractIdFromEncoded(body.terms);
    const refuse = (why: RejectReasonName): Reply => {
      this.counters.rejected[why] = (this.counters.rejected[why] ?? 0) + 1;
      return { spec: Reject, body: { contractId: id, reason: RejectReason[why] } };
    };
    let contract: Contract;
    try {
      contract = { terms: decodeTerms(body.terms), id, ownerSignature: body.ownerSignature };
    } catch {
      return refuse('BAD_TERMS');
    }
    const { terms } = contract;
    if (!Buffer.from(terms.host).equals(this.keys.publicKey)) return refuse('NOT_FOR_ME');

    // A retransmit of a proposal we accepted gets the same answer; anything else seen before is a replay.
    const seen = this.store.get(id);
    if (seen) {
      if (seen.role === 'host' && seen.state === 'pending' && seen.contract.hostSignature) {
        return { spec: Accept, body: { contractId: id, hostSignature: seen.contract.hostSignature } };
      }
      return refuse('REPLAYED');
    }

    const now = this.clock.now();
    const nowSeconds = Math.floor(now / 1000);
    const problem = verifyContract(contract, nowSeconds, false);
    if (problem === 'BAD_OWNER_SIGNATURE') return refuse('BAD_SIGNATURE');
    if (problem === 'EXPIRED' || problem === 'NOT_YET_VALID') return refuse('EXPIRED');
    if (problem) return refuse('BAD_TERMS');
    if (nowSeconds - terms.createdAt > this.config.proposalMaxAgeSeconds) return refuse('EXPIRED');

    // Nothing is reserved for a source that has not shown it receives at its address.
    const cookie = this.config.checkAddress?.(from, id, body.cookie) ?? null;
    if (cookie) {
      this.counters.rejected.ADDRESS_UNPROVEN = (this.counters.rejected.ADDRESS_UNPROVEN ?? 0) + 1;
      return { spec: Reject, body: { contractId: id, reason: RejectReason.ADDRESS_UNPROVEN, cookie } };
    }

    const address = formatAddress(from);
    const decision = decideProposal({
      size: terms.shardSize,
      ownerOffer: terms.ownerOffer,
      ownerIsDefaulter: this.store.counterpart(terms.owner).defaulterSince !== null,
      freeBytes: this.offeredFree(),
      diskBytes: this.diskFree(),
      balance: this.store.balance(terms.owner),
      prefixDebtOfOthers: this.store.prefixDebt(from.host, terms.owner),
      allowance: this.config.allowance,
      readOnly: this.config.readOnly?.() ?? false,
    });
    if (decision) return refuse(decision);

    const hostSignature = signAsHost(this.keys, id);
    try {
      // Only an accepted proposal updates where the owner is: a refused one moves nothing.
      this.store.sawCounterpart(terms.owner, address, terms.ownerOffer, now);
      this.store.insert({
        contract: { ...contract, hostSignature },
        role: 'host',
        counterpartAddress: address,
        state: 'pending',
        reservedUntil: now + this.config.uploadTimeoutMs,
        now,
      });
    } catch (err) {
      // A full or read-only disk under the database: a refusal the owner understands, not silence.
      const why = this.config.refusalForWriteError?.(err);
      if (!why) throw err;
      return refuse(why);
    }
    this.counters.accepted++;
    return { spec: Accept, body: { contractId: id, hostSignature } };
  }
}
