/**
 * The owner's side: find hosts for a shard and get contracts signed.
 *
 * Candidates come from DHT lookups of `replicas` targets derived from the shard hash, so
 * they are spread over the ID space; each is asked HELLO for its key and free space. Peers
 * that owe us storage are asked first (that is how a host collects what it is owed), then
 * the rest, preferring addresses on IPs not yet used. Proposals go out in waves of the
 * number still needed plus a spare; the first `replicas` to accept are kept and any extra
 * acceptance is cancelled with a signed CONTRACT_CANCEL. Never ourselves, never a host
 * in `exclude`, never two contracts for one request on the same key.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../util/clock.js';
import { type Address, formatAddress, parseAddress } from '../net/address.js';
import { toHex } from '../util/bytes.js';
import type { DhtNode } from '../dht/node.js';
import type { SigningKeyPair } from '../crypto/ed25519.js';
import { CHALLENGE_BYTES, Hello, type HelloInfo, HelloReply, verifyHello } from '../peer/hello.js';
import { type Contract, encodeTerms, propose, signCancel, verifyContract } from './contract.js';
import { Cancel, Cancelled, Reject } from './messages.js';
import { isExcusedRefusal, owesUs, reasonName, RejectReason, type RejectReasonName, reasonText } from './policy.js';
import type { ContractStore, StoredContract } from './store.js';
import { sendProposal } from './propose-request.js';

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
}

export type RefusalReason = RejectReasonName | `UNKNOWN_${number}` | 'NO_ANSWER' | 'BAD_ANSWER' | 'TOO_LITTLE_SPACE' | 'HOST_IS_DEFAULTER' | 'HOST_LOST_DATA';

export interface Refusal {
  address: Address;
  host: Uint8Array | null;
  reason: RefusalReason;
}

export interface NegotiationResult {
  /** The contracts kept, in the order the hosts accepted. */
  contracts: StoredContract[];
  refusals: Refusal[];
  /** How many hosts were asked for and not found. */
  shortfall: number;
}

/** No host accepted at all; the message says why in one line. */
export class NegotiationError extends Error {
  constructor(
    message: string,
    readonly refusals: Refusal[],
  ) {
    super(message);
    this.name = 'NegotiationError';
  }
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
}

interface Candidate {
  address: Address;
  info: HelloInfo;
}

export class ContractOwner {
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
  ) {}

  /** Asks `address` who it is; verifies the signed answer. */
  async hello(address: Address): Promise<HelloInfo> {
    const challenge = new Uint8Array(randomBytes(CHALLENGE_BYTES));
    const { body } = await this.dht.rpc.request(address, Hello, { challenge }, HelloReply);
    if (!verifyHello(body, challenge, address)) throw new Error(`${formatAddress(address)} sent a HELLO reply with a bad signature`);
    return { publicKey: body.publicKey, offered: body.offered, free: body.free };
  }

  async negotiate(req: NegotiationRequest): Promise<NegotiationResult> {
    if (!Number.isInteger(req.replicas) || req.replicas < 1) throw new Error('replicas must be a whole number of at least 1');
    const refusals: Refusal[] = [];
    const queue = await this.rankCandidates(req, refusals);
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
    if (kept.length === 0) throw new NegotiationError(explainFailure(refusals), refusals);
    return { contracts: kept, refusals, shortfall: req.replicas - kept.length };
  }

  /** Cancels a contract (either role): records it and tells the other party, best effort. */
  async cancel(stored: StoredContract): Promise<void> {
    const { id } = stored.contract;
    this.store.transition(id, ['pending', 'active'], 'cancelled', this.clock.now());
    if (!stored.counterpartAddress) return;
    try {
      await this.dht.rpc.request(parseAddress(stored.counterpartAddress), Cancel, { contractId: id, signature: signCancel(this.keys, id) }, Cancelled);
    } catch {
      // The other party may be gone; the contract ends on its own at expiry.
    }
  }

  private async rankCandidates(req: NegotiationRequest, refusals: Refusal[]): Promise<Candidate[]> {
    const addresses = req.candidates ?? (await this.discover(req));
    const exclude = new Set((req.exclude ?? []).map(toHex));
    exclude.add(toHex(this.keys.publicKey));
    const answers = await this.helloAll(addresses, req, exclude, refusals);
    const seenKeys = new Set<string>();
    const debtors: Candidate[] = [];
    const others: Candidate[] = [];
    for (const a of answers) {
      if (!a) continue;
      const key = toHex(a.info.publicKey);
      if (exclude.has(key) || seenKeys.has(key)) continue;
      seenKeys.add(key);
      const unusable = this.unusable(a.info, req);
      if (unusable) {
        refusals.push({ address: a.address, host: a.info.publicKey, reason: unusable });
        continue;
      }
      (owesUs(this.store.balance(a.info.publicKey), req.shardSize) ? debtors : others).push(a);
    }
    const owed = (c: Candidate) => {
      const b = this.store.balance(c.info.publicKey);
      return b.keptForThem - b.keptByThem;
    };
    debtors.sort((a, b) => owed(b) - owed(a));
    return [...debtors, ...others];
  }

  /** Why a host that answered HELLO cannot take this shard, or null if it can. */
  private unusable(info: HelloInfo, req: NegotiationRequest): 'HOST_IS_DEFAULTER' | 'HOST_LOST_DATA' | 'TOO_LITTLE_SPACE' | null {
    // Found by test/faults/lies-contracts.test.ts: a peer we declared a defaulter was still
    // asked to keep our data (and refused again). It is not trusted with anything any more.
    if (this.store.counterpart(info.publicKey).defaulterSince !== null) return 'HOST_IS_DEFAULTER';
    if (this.store.failures.lostData(info.publicKey)) return 'HOST_LOST_DATA';
    if (info.free < req.shardSize) return 'TOO_LITTLE_SPACE';
    return null;
  }

  /**
   * Asks every address HELLO at once, and returns (in address order) the answers in so far as
   * soon as either every address has answered or failed, or `replicas + spare` usable hosts
   * answered, or `replicas` did and `helloGraceMs` has passed since: a dead or slow peer among
   * the candidates then costs at most the grace, not its HELLO timeouts. HELLOs still running
   * go on in the background; their silence still counts against a peer that owes us storage.
   */
  private helloAll(addresses: Address[], req: NegotiationRequest, exclude: Set<string>, refusals: Refusal[]): Promise<(Candidate | null)[]> {
    const answers: (Candidate | null)[] = addresses.map(() => null);
    const usableKeys = new Set<string>();
    let settled = 0;
    let done = false;
    let grace: ReturnType<Clock['setTimeout']> | null = null;
    return new Promise((resolve) => {
      const finish = () => {
        if (done) return;
        done = true;
        if (grace) this.clock.clearTimeout(grace);
        resolve(answers.slice());
      };
      const check = () => {
        if (settled === addresses.length || usableKeys.size >= req.replicas + this.config.spare) return finish();
        if (usableKeys.size >= req.replicas && !grace) grace = this.clock.setTimeout(finish, this.config.helloGraceMs);
      };
      addresses.forEach((address, i) => {
        this.hello(address).then(
          (info) => {
            answers[i] = { address, info };
            const key = toHex(info.publicKey);
            if (!exclude.has(key) && !this.unusable(info, req)) usableKeys.add(key);
          },
          () => {
            // Silence from the last known address of a peer that owes us counts against it.
            for (const cp of this.store.counterpartsAt(formatAddress(address))) {
              if (owesUs(this.store.balance(cp.key), req.shardSize)) this.strike(cp.key);
            }
            if (!done) refusals.push({ address, host: null, reason: 'NO_ANSWER' });
          },
        ).finally(() => {
          settled++;
          check();
        });
      });
      check();
    });
  }

  /** Contacts near `replicas` points of the ID space derived from the shard, interleaved. */
  private async discover(req: NegotiationRequest): Promise<Address[]> {
    const lists = await Promise.all(
      Array.from({ length: req.replicas }, (_, i) => {
        const target = new Uint8Array(createHash('sha1').update(req.shardHash).update(Uint8Array.of(i)).digest());
        return this.dht.findNode(target);
      }),
    );
    const out: Address[] = [];
    const seen = new Set<string>();
    for (let i = 0; lists.some((l) => i < l.length); i++) {
      for (const list of lists) {
        const c = list[i];
        if (!c || seen.has(toHex(c.id))) continue;
        seen.add(toHex(c.id));
        out.push({ host: c.host, port: c.port });
      }
    }
    return out;
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
    });
    const refuse = (reason: RefusalReason, excused: boolean): Refusal => {
      if (owed && !excused) this.strike(host);
      return { address: c.address, host, reason };
    };
    let answer;
    try {
      // Retransmits carry the same proposal: the host answers them idempotently.
      answer = await sendProposal(this.dht.rpc, c.address, { terms: encodeTerms(proposal.terms), ownerSignature: proposal.ownerSignature }, { retries: 2 });
    } catch {
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

/** One line saying why nobody accepted. */
function explainFailure(refusals: Refusal[]): string {
  if (refusals.length === 0) return 'no host accepted the contract: no other peers were found (check the bootstrap address)';
  const counts = new Map<string, number>();
  for (const r of refusals) counts.set(r.reason, (counts.get(r.reason) ?? 0) + 1);
  if (counts.get('NO_STORAGE_OFFERED') === refusals.length) {
    return `no host accepted the contract: all ${refusals.length} refused with NO_STORAGE_OFFERED (this peer offers no storage to others; start it with storage > 0)`;
  }
  const parts = [...counts].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `${n} ${reason}${describe(reason)}`);
  return `no host accepted the contract: ${parts.join(', ')}`;
}

function describe(reason: string): string {
  if (reason === 'NO_ANSWER') return ' (did not answer)';
  if (reason === 'TOO_LITTLE_SPACE') return ' (not enough free space)';
  if (reason === 'BAD_ANSWER') return ' (invalid countersignature)';
  if (reason === 'HOST_IS_DEFAULTER') return ' (a defaulter: not asked to keep our data)';
  if (reason === 'HOST_LOST_DATA') return ' (it failed an audit: not asked to keep our data)';
  return reason in RejectReason ? ` (${reasonText(RejectReason[reason as RejectReasonName])})` : '';
}
