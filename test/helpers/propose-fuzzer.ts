/**
 * Proposals that are structurally valid (they decode, their terms are canonical msgpack of the
 * right fields, every byte field has its length) but semantically hostile: wrong or foreign
 * signatures, absurd sizes, durations and audit policies, expired and future times, proposals
 * naming another host, owners that offer nothing, pieces that contradict their sizes, more than
 * a prefix's allowance, and replays of proposals the host already answered. Unlike the datagram
 * fuzzer's mutations, these pass message validation and the address proof, so they reach the
 * host's checks and its reciprocity policy (contracts/host.ts, contracts/policy.ts).
 *
 * Pure: it makes terms and signatures; the test sends them and says what came back.
 */
import { contractId, encodeTerms, MAX_CONTRACT_SECONDS, MAX_SHARD_BYTES, signAsOwner, type ContractTerms } from '../../src/contracts/contract.js';
import type { RejectReasonName } from '../../src/contracts/refusals.js';
import { generateSigningKeyPair, type SigningKeyPair } from '../../src/crypto/ed25519.js';
import { pieceSizeFor } from '../../src/erasure/layout.js';
import type { Rand } from './fuzz.js';

/** The hostile kinds, each with the answers the host may give it ('ACCEPT' or a refusal). */
export const HOSTILE_KINDS = {
  /** Small, honest-looking: accepted until the prefix's allowance is used up. */
  small: ['ACCEPT', 'UNBALANCED'],
  /** Signed by another key than the terms' owner, or 64 random bytes. */
  'bad-signature': ['BAD_SIGNATURE'],
  /** Bigger than anything the host offers (up to the 4 GiB limit). */
  'huge-size': ['NO_SPACE', 'DISK_FULL'],
  /** Past the 4 GiB limit, or a duration over two years, or none: terms no host may sign. */
  'absurd-terms': ['BAD_TERMS'],
  /** Audits of 0 or more than 1,024 leaves, or an interval over the contract's limit. */
  'absurd-audits': ['BAD_TERMS'],
  /** A piece whose index, k, n or size contradict each other. */
  'bad-piece': ['BAD_TERMS'],
  /** Created a day ago (so ended, or too old to take), or a day from now. */
  'bad-time': ['EXPIRED'],
  /** For another host's key. */
  'not-for-me': ['NOT_FOR_ME'],
  /** From an owner who offers nothing to the network. */
  'no-offer': ['NO_STORAGE_OFFERED'],
  /** The same proposal again while its reservation stands: the same acceptance, nothing more reserved. */
  'replay-pending': ['ACCEPT', 'UNBALANCED'],
  /** A proposal accepted and then cancelled by its owner, sent again. */
  'replay-cancelled': ['REPLAYED'],
} as const satisfies Record<string, ReadonlyArray<RejectReasonName | 'ACCEPT'>>;
export type HostileKind = keyof typeof HOSTILE_KINDS;

/** One proposal to send, and (for replays) what must happen before it is sent again. */
export interface HostileProposal {
  kind: HostileKind;
  terms: Uint8Array;
  ownerSignature: Uint8Array;
  id: Uint8Array;
  owner: SigningKeyPair;
  /** Send it, then (if accepted) cancel it as its owner, then send it again: the replay is what counts. */
  cancelThenReplay?: boolean;
  /** Send it twice in a row: the second answer is what counts. */
  replay?: boolean;
}

const MiB = 2 ** 20;

export class ProposeFuzzer {
  readonly owners: SigningKeyPair[] = Array.from({ length: 4 }, () => generateSigningKeyPair());
  private readonly stranger = generateSigningKeyPair();
  readonly made = new Map<HostileKind, number>();

  constructor(
    private readonly rand: Rand,
    private readonly hostKey: Uint8Array,
    private readonly nowSeconds: () => number,
    /** Bytes of a small proposal (a few of them must exceed the target's allowance). */
    private readonly smallBytes = MiB,
  ) {}

  next(): HostileProposal {
    const kind = this.rand.pick(Object.keys(HOSTILE_KINDS) as HostileKind[]);
    this.made.set(kind, (this.made.get(kind) ?? 0) + 1);
    return this.make(kind);
  }

  make(kind: HostileKind): HostileProposal {
    const { rand } = this;
    const owner = rand.pick(this.owners);
    const now = this.nowSeconds();
    const t: ContractTerms = {
      version: 1,
      owner: owner.publicKey,
      host: this.hostKey,
      shardHash: rand.bytes(32),
      shardSize: 1 + rand.int(this.smallBytes),
      merkleRoot: rand.bytes(32),
      createdAt: now,
      expiresAt: now + 86_400,
      auditIntervalSeconds: 3600,
      auditSamples: 8,
      ownerOffer: 2 ** 30,
      nonce: rand.bytes(8),
    };
    let signer = owner;
    let randomSignature = false;
    switch (kind) {
      case 'bad-signature':
        if (rand.next() < 0.5) signer = this.stranger;
        else randomSignature = true;
        break;
      case 'huge-size':
        t.shardSize = MAX_SHARD_BYTES - rand.int(MiB);
        break;
      case 'absurd-terms':
        rand.pick<() => void>([
          () => (t.shardSize = MAX_SHARD_BYTES + 1 + rand.int(2 ** 40)),
          () => (t.expiresAt = t.createdAt + MAX_CONTRACT_SECONDS + 1 + rand.int(2 ** 30)),
          () => (t.expiresAt = t.createdAt - rand.int(1000)),
          () => (t.host = owner.publicKey),
          () => (t.version = 2 + rand.int(250)),
        ])();
        break;
      case 'absurd-audits':
        rand.pick<() => void>([
          () => (t.auditSamples = 1025 + rand.int(2 ** 20)),
          () => (t.auditIntervalSeconds = MAX_CONTRACT_SECONDS + 1 + rand.int(2 ** 20)),
        ])();
        break;
      case 'bad-piece': {
        const k = 2 + rand.int(6);
        const n = k + 1 + rand.int(4);
        const shardSize = 1 + rand.int(8 * MiB);
        t.piece = { shard: rand.bytes(32), shardSize, index: rand.int(n), k, n };
        t.shardSize = pieceSizeFor(shardSize, k);
        rand.pick<() => void>([
          () => (t.piece!.index = n + rand.int(10)),
          () => (t.piece!.k = 1),
          () => (t.piece!.n = k - 1),
          () => (t.shardSize = t.shardSize + 1 + rand.int(1000)),
        ])();
        break;
      }
      case 'bad-time':
        if (rand.next() < 0.5) {
          t.createdAt = now - 86_400 - rand.int(86_400);
          t.expiresAt = t.createdAt + (rand.next() < 0.5 ? 3600 : 7 * 86_400);
        } else {
          t.createdAt = now + 86_400 + rand.int(86_400);
          t.expiresAt = t.createdAt + 86_400;
        }
        break;
      case 'not-for-me':
        t.host = rand.next() < 0.5 ? rand.bytes(32) : this.stranger.publicKey;
        break;
      case 'no-offer':
        t.ownerOffer = 0;
        break;
      default:
        break;
    }
    const id = contractId(t);
    const ownerSignature = randomSignature ? rand.bytes(64) : signAsOwner(signer, id);
    return {
      kind,
      terms: encodeTerms(t),
      ownerSignature,
      id,
      owner,
      ...(kind === 'replay-cancelled' ? { cancelThenReplay: true } : {}),
      ...(kind === 'replay-pending' ? { replay: true } : {}),
    };
  }
}
