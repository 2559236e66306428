/**
 * Storage contracts, pure: the terms, their canonical encoding, the contract ID, both
 * signatures, and `verifyContract`, the one function that decides whether a contract is
 * genuine. Nothing here touches the network or the disk.
 *
 * Canonical encoding: a MessagePack array of the fields in the order of `TERMS_FIELDS`,
 * encoded by msgpackr (byte strings as bin, integers as the smallest uint form, or float64
 * above 2^32, which is exact for the safe integers allowed here). The contract ID is
 * SHA-256 of a domain tag and those bytes; each party signs a role tag and the ID, so a
 * signature can never be moved from one role or one contract to another.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Packr, Unpackr } from 'msgpackr';
import { signEd25519, type SigningKeyPair, verifyEd25519 } from '../crypto/ed25519.js';
import { MAX_DATA_PIECES, MAX_PARITY_PIECES } from '../erasure/constants.js';
import { pieceSizeFor } from '../erasure/layout.js';

export const CONTRACT_VERSION = 1;
/** Largest shard a contract may cover: 4 GiB. */
export const MAX_SHARD_BYTES = 4 * 2 ** 30;
/** Longest a contract may run: two years. */
export const MAX_CONTRACT_SECONDS = 2 * 365 * 86_400;
/**
 * How far apart two peers' clocks may be (seconds) with everything still working: proposals,
 * contract ends, audits and renewals (docs/security.md, "Clocks"). Ten minutes covers a machine
 * without NTP for weeks or a wrong time zone setting that was half-fixed; an hour off is a
 * misconfigured machine and is refused, not silently accepted.
 */
export const CLOCK_TOLERANCE_SECONDS = 600;
/**
 * How far a proposal's creation time may lie in the future: the clock tolerance plus 5 minutes
 * for the proposal's transit and retransmits.
 */
export const CLOCK_SKEW_SECONDS = CLOCK_TOLERANCE_SECONDS + 300;
/**
 * How old a proposal may be when it arrives (the default of `proposalMaxAgeSeconds`): the clock
 * tolerance plus 10 minutes of transit and retransmits. Replays within it are still refused:
 * a host remembers every proposal it accepted until a week after the contract ended
 * (ENDED_CONTRACT_RETENTION_MS), far longer than this window.
 */
export const PROPOSAL_MAX_AGE_SECONDS = CLOCK_TOLERANCE_SECONDS + 600;

/** What owner and host agree on. Times are Unix seconds. */
export interface ContractTerms {
  version: number;
  /** Owner's Ed25519 public key (32 bytes). */
  owner: Uint8Array;
  /** Host's Ed25519 public key (32 bytes). */
  host: Uint8Array;
  /** The shard's ID (32 bytes): SHA-256(0x02 ‖ size ‖ Merkle root), see storage/merkle.ts. */
  shardHash: Uint8Array;
  shardSize: number;
  /** Merkle root over the shard's leaves, for audits (32 bytes). */
  merkleRoot: Uint8Array;
  createdAt: number;
  expiresAt: number;
  /** How often the owner intends to audit, and how many leaves each audit samples. */
  auditIntervalSeconds: number;
  auditSamples: number;
  /** Storage the owner offers to the network when proposing: signed evidence for reciprocity. */
  ownerOffer: number;
  /** Makes each proposal unique (renewals of the same shard on the same host). */
  nonce: Uint8Array;
  /**
   * Present when the stored object is one erasure-coded piece of a shard (src/erasure): then
   * `shardHash`, `shardSize` and `merkleRoot` above are the PIECE's (what the host stores,
   * receives and is audited on, exactly as for a whole shard), and this says which shard it
   * belongs to and where it stands among its pieces. Absent: a whole shard, as before.
   */
  piece?: PieceTerms;
}

/** Which piece of which shard a piece contract keeps (see `ContractTerms.piece`). */
export interface PieceTerms {
  /** The whole shard's ID (32 bytes): SHA-256(0x02 ‖ shard size ‖ shard root). */
  shard: Uint8Array;
  /** The whole shard's size in bytes: fixes the piece size and the padding to strip. */
  shardSize: number;
  /** 0..n−1; below k a data piece (a range of the shard), from k on parity. */
  index: number;
  /** Pieces any k of which rebuild the shard, of n in all. */
  k: number;
  n: number;
}

export interface Contract {
  terms: ContractTerms;
  /** SHA-256 of the canonical terms (derived, never trusted from the wire). */
  id: Uint8Array;
  ownerSignature: Uint8Array;
  /** Absent until the host countersigns. */
  hostSignature?: Uint8Array;
}

const TERMS_FIELDS = [
  'version',
  'owner',
  'host',
  'shardHash',
  'shardSize',
  'merkleRoot',
  'createdAt',
  'expiresAt',
  'auditIntervalSeconds',
  'auditSamples',
  'ownerOffer',
  'nonce',
] as const satisfies readonly (keyof ContractTerms)[];

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

/**
 * The canonical encoding. Piece terms ride as one more element at the end, [shard, shardSize,
 * index, k, n]; terms without them encode exactly as before (the same bytes, the same IDs).
 */
export function encodeTerms(terms: ContractTerms): Uint8Array {
  const fields: unknown[] = TERMS_FIELDS.map((f) => terms[f]);
  if (terms.piece) {
    const p = terms.piece;
    fields.push([p.shard, p.shardSize, p.index, p.k, p.n]);
  }
  return packr.pack(fields);
}

/** Decodes canonical terms, checking every field's type and size; throws on anything else. */
export function decodeTerms(bytes: Uint8Array): ContractTerms {
  let raw: unknown;
  try {
    raw = unpackr.unpack(bytes);
  } catch {
    throw new Error('contract terms are not valid msgpack');
  }
  if (!Array.isArray(raw) || (raw.length !== TERMS_FIELDS.length && raw.length !== TERMS_FIELDS.length + 1)) throw new Error('contract terms have the wrong shape');
  const terms = Object.fromEntries(TERMS_FIELDS.map((f, i) => [f, raw[i]])) as unknown as ContractTerms;
  if (raw.length > TERMS_FIELDS.length) {
    const p: unknown = raw[TERMS_FIELDS.length];
    if (!Array.isArray(p) || p.length !== 5) throw new Error('contract terms: piece terms have the wrong shape');
    terms.piece = { shard: p[0], shardSize: p[1], index: p[2], k: p[3], n: p[4] } as PieceTerms;
  }
  const problem = checkTermsShape(terms);
  if (problem) throw new Error(`contract terms: ${problem}`);
  // Re-encoding must give the same bytes, or the ID would not be canonical.
  if (!Buffer.from(encodeTerms(terms)).equals(bytes)) throw new Error('contract terms are not canonically encoded');
  return terms;
}

export function contractId(terms: ContractTerms): Uint8Array {
  return contractIdFromEncoded(encodeTerms(terms));
}

/** The ID of canonically encoded terms (the same as `contractId` of the decoded terms). */
export function contractIdFromEncoded(encoded: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update('dbs-contract-v1').update(encoded).digest());
}

const OWNER_TAG = Buffer.from('dbs-contract-owner-v1');
const HOST_TAG = Buffer.from('dbs-contract-host-v1');
const CANCEL_TAG = Buffer.from('dbs-contract-cancel-v1');

export function signAsOwner(keys: SigningKeyPair, id: Uint8Array): Uint8Array {
  return signEd25519(keys, Buffer.concat([OWNER_TAG, id]));
}

export function signAsHost(keys: SigningKeyPair, id: Uint8Array): Uint8Array {
  return signEd25519(keys, Buffer.concat([HOST_TAG, id]));
}

/** A cancellation signed by either party of contract `id`. */
export function signCancel(keys: SigningKeyPair, id: Uint8Array): Uint8Array {
  return signEd25519(keys, Buffer.concat([CANCEL_TAG, id]));
}

export function verifyCancel(publicKey: Uint8Array, id: Uint8Array, signature: Uint8Array): boolean {
  return verifyEd25519(publicKey, Buffer.concat([CANCEL_TAG, id]), signature);
}

const CANCEL_MANY_TAG = Buffer.from('dbs-contract-cancel-many-v1');

/** A cancellation of all of `ids` at once (a CONTRACT_CANCEL's `msig`), signed by either party. */
export function signCancelMany(keys: SigningKeyPair, ids: readonly Uint8Array[]): Uint8Array {
  return signEd25519(keys, Buffer.concat([CANCEL_MANY_TAG, ...ids]));
}

export function verifyCancelMany(publicKey: Uint8Array, ids: readonly Uint8Array[], signature: Uint8Array): boolean {
  return verifyEd25519(publicKey, Buffer.concat([CANCEL_MANY_TAG, ...ids]), signature);
}

/** Parameters an owner chooses for a new proposal. */
export interface ProposalParams {
  host: Uint8Array;
  shardHash: Uint8Array;
  shardSize: number;
  merkleRoot: Uint8Array;
  durationSeconds: number;
  auditIntervalSeconds: number;
  auditSamples: number;
  ownerOffer: number;
  nowSeconds: number;
  /** For a piece of an erasure-coded shard: which one (shardHash/shardSize/merkleRoot are the piece's). */
  piece?: PieceTerms;
}

/** Builds and owner-signs a proposal. */
export function propose(owner: SigningKeyPair, p: ProposalParams): Contract {
  const terms: ContractTerms = {
    version: CONTRACT_VERSION,
    owner: owner.publicKey,
    host: p.host,
    shardHash: p.shardHash,
    shardSize: p.shardSize,
    merkleRoot: p.merkleRoot,
    createdAt: p.nowSeconds,
    expiresAt: p.nowSeconds + p.durationSeconds,
    auditIntervalSeconds: p.auditIntervalSeconds,
    auditSamples: p.auditSamples,
    ownerOffer: p.ownerOffer,
    nonce: new Uint8Array(randomBytes(8)),
    ...(p.piece ? { piece: p.piece } : {}),
  };
  const problem = checkTermsShape(terms);
  if (problem) throw new Error(`cannot propose: ${problem}`);
  const id = contractId(terms);
  return { terms, id, ownerSignature: signAsOwner(owner, id) };
}

export type ContractProblem =
  | 'BAD_TERMS'
  | 'BAD_OWNER_SIGNATURE'
  | 'BAD_HOST_SIGNATURE'
  | 'MISSING_HOST_SIGNATURE'
  | 'EXPIRED'
  | 'NOT_YET_VALID'
  | 'ID_MISMATCH';

/**
 * Whether `contract` is genuine at `nowSeconds`: well-formed terms, the ID matching them,
 * a valid owner signature, and (when `countersigned`) a valid host signature. Null when valid.
 */
export function verifyContract(contract: Contract, nowSeconds: number, countersigned: boolean): ContractProblem | null {
  const { terms } = contract;
  if (checkTermsShape(terms)) return 'BAD_TERMS';
  const id = contractId(terms);
  if (!Buffer.from(id).equals(contract.id)) return 'ID_MISMATCH';
  if (!verifyEd25519(terms.owner, Buffer.concat([OWNER_TAG, id]), contract.ownerSignature)) return 'BAD_OWNER_SIGNATURE';
  if (countersigned) {
    if (!contract.hostSignature) return 'MISSING_HOST_SIGNATURE';
    if (!verifyEd25519(terms.host, Buffer.concat([HOST_TAG, id]), contract.hostSignature)) return 'BAD_HOST_SIGNATURE';
  }
  if (terms.createdAt > nowSeconds + CLOCK_SKEW_SECONDS) return 'NOT_YET_VALID';
  if (terms.expiresAt <= nowSeconds) return 'EXPIRED';
  return null;
}

function isBytes(v: unknown, n: number): boolean {
  return v instanceof Uint8Array && v.length === n;
}

function isUint(v: unknown, max: number): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max;
}

/** Describes the first thing wrong with the terms' shape, or null. */
function checkTermsShape(t: ContractTerms): string | null {
  if (t.version !== CONTRACT_VERSION) return `unsupported version ${String(t.version)}`;
  if (!isBytes(t.owner, 32) || !isBytes(t.host, 32)) return 'keys must be 32 bytes';
  if (Buffer.from(t.owner).equals(t.host)) return 'owner and host must differ';
  if (!isBytes(t.shardHash, 32) || !isBytes(t.merkleRoot, 32)) return 'hashes must be 32 bytes';
  if (!isUint(t.shardSize, MAX_SHARD_BYTES)) return 'shard size out of range';
  if (!isUint(t.createdAt, 2 ** 40) || !isUint(t.expiresAt, 2 ** 40)) return 'times out of range';
  if (t.expiresAt <= t.createdAt || t.expiresAt - t.createdAt > MAX_CONTRACT_SECONDS) return 'duration out of range';
  if (!isUint(t.auditIntervalSeconds, MAX_CONTRACT_SECONDS) || !isUint(t.auditSamples, 1024)) return 'audit policy out of range';
  if (!isUint(t.ownerOffer, Number.MAX_SAFE_INTEGER)) return 'owner offer out of range';
  if (!isBytes(t.nonce, 8)) return 'nonce must be 8 bytes';
  if (t.piece !== undefined) return checkPieceShape(t.piece, t.shardSize);
  return null;
}

/**
 * Piece terms: a scheme the codec can do (2 ≤ k: with k = 1 a piece would be a whole copy,
 * which plain terms already say), an index below n, and a piece size that is the one the
 * layout gives the shard's size (src/erasure/layout.ts), so a host can check the sizes agree
 * even though it never sees the shard.
 */
function checkPieceShape(p: PieceTerms, pieceSize: number): string | null {
  if (!isBytes(p.shard, 32)) return 'piece: shard ID must be 32 bytes';
  if (!isUint(p.k, MAX_DATA_PIECES) || p.k < 2) return 'piece: k out of range';
  if (!isUint(p.n, p.k + MAX_PARITY_PIECES) || p.n < p.k) return 'piece: n out of range';
  if (!isUint(p.index, p.n - 1)) return 'piece: index out of range';
  if (!isUint(p.shardSize, MAX_SHARD_BYTES)) return 'piece: shard size out of range';
  if (pieceSizeFor(p.shardSize, p.k) !== pieceSize) return 'piece: size does not match the shard size and k';
  return null;
}
