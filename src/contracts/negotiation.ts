/**
 * The owner's side: find hosts for a shard and get contracts signed.
 *
 * The hosts to ask, in order, come from candidates.ts (DHT lookups and HELLO; debtors
 * first). Proposals go out in waves of the number still needed plus a spare, preferring
 * addresses on IPs not yet used; the first `replicas` to accept are kept and any extra
 * acceptance is cancelled with a signed CONTRACT_CANCEL. Never two contracts for one request
 * on the same key.
 */
import type { Clock } from '../util/clock.js';
import { toHex } from '../util/bytes.js';
import { type Address, formatAddress, parseAddress } from '../net/address.js';
import type { DhtNode } from '../dht/node.js';
import type { SigningKeyPair } from '../crypto/ed25519.js';
import { type Candidate, CandidateFinder } from './candidates.js';
import { UnsentCancels } from './unsent-cancels.js';
import type { Introduce } from './introduce.js';
import { type Contract, encodeTerms, type PieceTerms, propose, signCancel, signCancelMany, verifyContract } from './contract.js';
import { Cancel, CANCEL_MORE_MAX, Cancelled, Reject } from './messages.js';
import { cancelBatches } from './cancel-batches.js';
import { sendProposal } from './propose-request.js';
import { owesUs } from './policy.js';
import { explainNoHost, isExcusedRefusal, NegotiationError, type Refusal, type RefusalCode, reasonName } from './refusals.js';
import type { ContractStore, StoredContract } from './store.js';

export interface NegotiationRequest {
  /** The shard's ID (see storage/merkle.ts shardId). */
  shardHash: Uint8Array;
  shardSize: number;
  /** Merkle root of the shard's leaves (for audits). */
  merkleRoot: Uint8Array;
  /** How many distinct hosts should keep the shard (1..n). */
  replicas: number;
  /** Public keys that must not be asked (e.g. hosts that already hold this file). */
  exclude?: Uint8Array[];
  /** Ask these addresses instead of searching the DHT. */
  candidates?: Address[];
  /** When the shard is one erasure-coded piece: which one (signed into the terms; see contract.ts). */
  piece?: PieceTerms;
}

// Negotiation's outcome types live with the refusal codes; exported here too, where callers look.
export { NegotiationError, type Refusal, type RefusalCode } from './refusals.js';

export interface NegotiationResult {
  /** The contracts kept, in the order the hosts accepted. */
  contracts: StoredContract[];
  refusals: Refusal[];
  /** How many hosts were asked for and not found. */
  shortfall: number;
}

export interface OwnerConfig {
  contractSeconds: number;
  /** How long we wait for our own upload before the contract counts as released. */
  uploadTimeoutMs: number;
  auditIntervalSeconds: number;
  auditSamples: number;
  /** Extra proposals per wave beyond the number still needed. */
  spare: number;
  /**
   * Once `replicas` usable hosts answered HELLO, how much longer to wait for the rest (a
   * debtor among them would be asked first) before going ahead without them.
   */
  helloGraceMs: number;
  /** Where our friends are now, asked as hosts before the DHT's (see CandidateComponents.friends). */
  friends?: () => Promise<Address[]>;
}

export class ContractOwner {
  private readonly candidates: CandidateFinder;
  /** Cancel notices the host did not answer: sent again by `resendCancels`. */
  readonly unsentCancels = new UnsentCancels();

  constructor(
    private readonly dht: DhtNode,
    private readonly store: ContractStore,
    private readonly keys: SigningKeyPair,
    private readonly clock: Clock,
    private readonly config: OwnerConfig,
    /** What we offer to others right now (signed into each proposal). */
    private readonly offered: () => number,
    /** Called when a peer that owes us storage refuses without excuse or does not answer. */
    private readonly strike: (host: Uint8Array) => void,
    /** Called when a peer accepts our proposal. */
    private readonly honoured: (host: Uint8Array) => void,
    /** Who answers at an address (HELLO, src/peer/hello.ts). */
    introduce: Introduce,
  ) {
    const friends = config.friends;
    this.candidates = new CandidateFinder({ dht, store, clock, introduce, self: keys.publicKey, strike, ...(friends ? { friends } : {}) }, config);
  }

  async negotiate(req: NegotiationRequest): Promise<NegotiationResult> {
    if (!Number.isInteger(req.replicas) || req.replicas < 1) throw new Error('replicas must be a whole number of at least 1');
    const refusals: Refusal[] = [];
    const queue = await this.candidates.rank(req, refusals);
    const accepted: { contract: StoredContract; order: number }[] = [];
    const usedIps = new Set<string>();
    let order = 0;
    while (accepted.length < req.replicas && queue.length > 0) {
      const wave = takePreferringNewIps(queue, req.replicas - accepted.length + this.config.spare, usedIps);
      await Promise.all(
        wave.map(async (c) => {
          const outcome = await this.proposeTo(c, req);
          if ('contract' in outcome) accepted.push({ contract: outcome.contract, order: order++ });
          else refusals.push(outcome);
        }),
      );
    }
    accepted.sort((a, b) => a.order - b.order);
    const kept = accepted.slice(0, req.replicas).map((a) => a.contract);
    for (const extra of accepted.slice(req.replicas)) await this.cancel(extra.contract);
    if (kept.length === 0) throw new NegotiationError(explainNoHost(refusals), refusals);
    return { contracts: kept, refusals, shortfall: req.replicas - kept.length };
  }

  /** Cancels a contract (either role): records it and tells the other party, best effort. */
  async cancel(stored: StoredContract): Promise<void> {
    this.store.transition(stored.contract.id, ['pending', 'active'], 'cancelled', this.clock.now());
    await this.notifyCancel(stored);
  }

  /**
   * Cancels many (prune): told to their hosts up to 1 + CANCEL_MORE_MAX in one
   * CONTRACT_CANCEL (one round trip and one commit on the host instead of one each: they were
   * most of a prune's time), `atOnce` messages in flight, then all recorded in one transaction
   * (one commit, not one each). `sent`: called between the two (the crash tests kill there).
   */
  async cancelMany(list: readonly StoredContract[], atOnce: number, sent?: () => void): Promise<void> {
    const batches = cancelBatches(list, 1 + CANCEL_MORE_MAX);
    // A pool, not rounds: a round waits for its slowest host, a pool keeps every host busy.
    let next = 0;
    const worker = async () => {
      while (next < batches.length) await this.notifyBatch(batches[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(atOnce, batches.length) }, worker));
    sent?.();
    // Recorded after the notices: killed before this, they are still live here and the next
    // prune cancels them again (a host answers a cancel of one it cancelled already). Recorded
    // first, a kill would leave hosts keeping contracts no one would ever cancel.
    const now = this.clock.now();
    this.store.transaction(() => {
      for (const c of list) this.store.transition(c.contract.id, ['pending', 'active'], 'cancelled', now);
    });
  }

  /** One CONTRACT_CANCEL for contracts with one counterpart (cancel-batches.ts). */
  private async notifyBatch(batch: StoredContract[]): Promise<void> {
    if (batch.length === 1) return this.notifyCancel(batch[0]!);
    const address = batch[0]!.counterpartAddress!;
    const ids = batch.map((c) => c.contract.id);
    let acked: Set<string>;
    try {
      const { body } = await this.dht.rpc.request(parseAddress(address), Cancel, { contractId: ids[0]!, signature: signCancel(this.keys, ids[0]!), more: ids.slice(1), manySignature: signCancelMany(this.keys, ids) }, Cancelled);
      acked = new Set((body.more ?? []).map((id) => toHex(id)));
    } catch {
      // Away: each is told again when it may be back (unsent-cancels.ts).
      for (const id of ids) this.unsentCancels.add(id, address, this.clock.now());
      return;
    }
    // A host without batches cancelled the first alone (no `more` in its answer): the rest one by one.
    for (const c of batch.slice(1)) if (!acked.has(toHex(c.contract.id))) await this.notifyCancel(c);
  }

  private async notifyCancel(stored: StoredContract): Promise<void> {
    const { id } = stored.contract;
    if (!stored.counterpartAddress) return;
    try {
      await this.dht.rpc.request(parseAddress(stored.counterpartAddress), Cancel, { contractId: id, signature: signCancel(this.keys, id) }, Cancelled);
    } catch {
      // The other party may be gone: told again when it may be back (unsent-cancels.ts).
      this.unsentCancels.add(id, stored.counterpartAddress, this.clock.now());
    }
  }

  /**
   * Cancels a contract known here only by its ID (a recovered head shard's, whose terms this
   * machine never saw): the signed notice alone; true if the host acknowledged it.
   */
  async cancelById(id: Uint8Array, address: string): Promise<boolean> {
    try {
      await this.dht.rpc.request(parseAddress(address), Cancel, { contractId: id, signature: signCancel(this.keys, id) }, Cancelled);
      return true;
    } catch {
      return false;
    }
  }

  /** Sends again the cancel notices that did not arrive and are due (maintenance). */
  async resendCancels(): Promise<void> {
    await Promise.all(
      this.unsentCancels.due(this.clock.now()).map(async (e) => {
        try {
          await this.dht.rpc.request(parseAddress(e.address), Cancel, { contractId: e.contractId, signature: signCancel(this.keys, e.contractId) }, Cancelled);
          this.unsentCancels.sent(e.contractId);
        } catch {
          // Still away; the next try is an hour on.
        }
      }),
    );
  }

  private async proposeTo(c: Candidate, req: NegotiationRequest): Promise<{ contract: StoredContract } | Refusal> {
    const host = c.info.publicKey;
    const owed = owesUs(this.store.balance(host), req.shardSize);
    const now = this.clock.now();
    const nowSeconds = Math.floor(now / 1000);
    const proposal: Contract = propose(this.keys, {
      host,
      shardHash: req.shardHash,
      shardSize: req.shardSize,
      merkleRoot: req.merkleRoot,
      durationSeconds: this.config.contractSeconds,
      auditIntervalSeconds: this.config.auditIntervalSeconds,
      auditSamples: this.config.auditSamples,
      ownerOffer: this.offered(),
      nowSeconds,
      ...(req.piece ? { piece: req.piece } : {}),
    });
    const refuse = (reason: RefusalCode, excused: boolean): Refusal => {
      if (owed && !excused) this.strike(host);
      return { address: c.address, host, reason };
    };
    let answer;
    try {
      // Retransmits carry the same proposal: the host answers them idempotently.
      answer = await sendProposal(this.dht.rpc, c.address, { terms: encodeTerms(proposal.terms), ownerSignature: proposal.ownerSignature }, { retries: 2 });
    } catch {
      // Timeout, ERROR reply or a full queue: reported as a NO_ANSWER refusal, not dropped.
      return refuse('NO_ANSWER', false);
    }
    if (answer.spec === Reject) {
      const { reason } = answer.body as { reason: number };
      return refuse(reasonName(reason), isExcusedRefusal(reason));
    }
    const { contractId, hostSignature } = answer.body as { contractId: Uint8Array; hostSignature: Uint8Array };
    const signed: Contract = { ...proposal, hostSignature };
    if (!Buffer.from(contractId).equals(proposal.id) || verifyContract(signed, nowSeconds, true) !== null) return refuse('BAD_ANSWER', false);
    this.store.sawCounterpart(host, formatAddress(c.address), c.info.offered, now);
    this.store.insert({ contract: signed, role: 'owner', counterpartAddress: formatAddress(c.address), state: 'pending', reservedUntil: now + this.config.uploadTimeoutMs, now });
    this.honoured(host);
    return { contract: this.store.get(proposal.id)! };
  }
}

/** Takes up to `n` candidates from the front of `queue`, preferring IPs not used yet. */
function takePreferringNewIps(queue: Candidate[], n: number, usedIps: Set<string>): Candidate[] {
  const wave: Candidate[] = [];
  for (const pass of [true, false]) {
    for (let i = 0; i < queue.length && wave.length < n; ) {
      const c = queue[i]!;
      if (pass && usedIps.has(c.address.host)) {
        i++;
        continue;
      }
      wave.push(c);
      usedIps.add(c.address.host);
      queue.splice(i, 1);
    }
  }
  return wave;
}
