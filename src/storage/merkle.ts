/**
 * Merkle trees over a shard, for storage proofs. Pure: no I/O.
 *
 * The shard is cut into fixed leaves of LEAF_SIZE bytes (the last may be shorter; an empty
 * shard has one empty leaf). Leaf hash = SHA-256(0x00 ‖ leaf), node hash = SHA-256(0x01 ‖ left
 * ‖ right): the prefixes keep a leaf from ever passing for a node. An odd node at the end of
 * a level is carried up unchanged (duplicating it, as Bitcoin does, would let two different
 * leaf lists share a root).
 *
 * A shard's ID (its content address, `shardHash` in contracts) is SHA-256(0x02 ‖ size as u64
 * BE ‖ root): the third prefix keeps it apart from leaves and nodes, and the size is bound in
 * because the tree's shape alone does not fix it. So one pass of leaf hashes gives both the ID
 * and the root: no second SHA-256 over the whole shard, and leaves can be hashed in parallel
 * (see `parallel-hasher.ts`), which a single running SHA-256 cannot.
 *
 * An audit asks for random leaves; the host returns each leaf with its sibling path; the owner,
 * who keeps only the root, checks each with `verifyLeaf` in O(log n) hashes. Fresh random
 * indexes every time, so audits never run out, unlike a list of pre-computed challenges.
 */
import { createHash } from 'node:crypto';

export const LEAF_SIZE = 64 * 1024;
export const HASH_BYTES = 32;

export function leafCount(size: number): number {
  return Math.max(1, Math.ceil(size / LEAF_SIZE));
}

export function hashLeaf(leaf: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(LEAF_PREFIX).update(leaf).digest());
}

function hashNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest());
}

const LEAF_PREFIX = Uint8Array.of(0);
const NODE_PREFIX = Uint8Array.of(1);
const ID_PREFIX = Uint8Array.of(2);

/** The shard's ID from its Merkle root and size (see the header). */
export function shardId(root: Uint8Array, size: number): Uint8Array {
  const length = Buffer.alloc(8);
  length.writeBigUInt64BE(BigInt(size));
  return new Uint8Array(createHash('sha256').update(ID_PREFIX).update(length).update(root).digest());
}

/** What a hashed shard is known by: its ID, leaf hashes, Merkle root and size. */
export interface ShardDigest {
  hash: Uint8Array;
  leafHashes: Uint8Array[];
  root: Uint8Array;
  size: number;
}

/** The digest of a shard from its leaf hashes (an empty shard has one empty leaf). */
export function digestFromLeaves(leafHashes: Uint8Array[], size: number): ShardDigest {
  const leaves = leafHashes.length > 0 ? leafHashes : [hashLeaf(new Uint8Array(0))];
  const root = rootOf(leaves);
  return { hash: shardId(root, size), leafHashes: leaves, root, size };
}

/** The levels of the tree, leaves first, root last. */
export function buildLevels(leafHashes: Uint8Array[]): Uint8Array[][] {
  if (leafHashes.length === 0) throw new Error('a Merkle tree has at least one leaf');
  const levels = [leafHashes];
  while (levels[levels.length - 1]!.length > 1) {
    const below = levels[levels.length - 1]!;
    const level: Uint8Array[] = [];
    for (let i = 0; i < below.length; i += 2) level.push(i + 1 < below.length ? hashNode(below[i]!, below[i + 1]!) : below[i]!);
    levels.push(level);
  }
  return levels;
}

export function rootOf(leafHashes: Uint8Array[]): Uint8Array {
  const levels = buildLevels(leafHashes);
  return levels[levels.length - 1]![0]!;
}

/**
 * Sibling hashes from leaf `index` up to the root. A level where the node has no sibling
 * (it was carried up) contributes nothing, so the path is at most ceil(log2 n) long.
 */
export function proofFor(levels: Uint8Array[][], index: number): Uint8Array[] {
  const path: Uint8Array[] = [];
  let i = index;
  for (let l = 0; l < levels.length - 1; l++) {
    const level = levels[l]!;
    const sibling = i ^ 1;
    if (sibling < level.length) path.push(level[sibling]!);
    i >>= 1;
  }
  return path;
}

/** Whether `leaf` is leaf `index` of the shard of `size` bytes whose tree has `root`. */
export function verifyLeaf(root: Uint8Array, size: number, index: number, leaf: Uint8Array, path: Uint8Array[]): boolean {
  const count = leafCount(size);
  if (!Number.isInteger(index) || index < 0 || index >= count) return false;
  const expectedLength = index === count - 1 ? size - index * LEAF_SIZE : LEAF_SIZE;
  if (leaf.length !== Math.max(0, expectedLength)) return false;
  let hash = hashLeaf(leaf);
  let i = index;
  let width = count;
  let p = 0;
  while (width > 1) {
    const sibling = i ^ 1;
    if (sibling < width) {
      const s = path[p++];
      if (!s || s.length !== HASH_BYTES) return false;
      hash = i % 2 === 0 ? hashNode(hash, s) : hashNode(s, hash);
    }
    i >>= 1;
    width = Math.ceil(width / 2);
  }
  return p === path.length && Buffer.from(hash).equals(root);
}

/** Distinct random leaf indexes for an audit (all of them when the shard is small). */
export function pickLeaves(size: number, samples: number, random: (n: number) => number): number[] {
  const count = leafCount(size);
  if (samples >= count) return Array.from({ length: count }, (_, i) => i);
  const picked = new Set<number>();
  // Bounded: a poor random source falls back to the next free indexes instead of spinning.
  for (let tries = 0; picked.size < samples && tries < samples * 64; tries++) picked.add(random(count));
  for (let i = 0; picked.size < samples; i++) picked.add(i);
  return [...picked].sort((a, b) => a - b);
}

/**
 * Hashes a shard as it streams by, on the calling thread: the leaf hashes, from which the root
 * and the ID follow. Holds at most one partial leaf. `ParallelShardHasher` gives the same
 * digest with the hashing off the main thread.
 */
export class ShardHasher {
  private readonly leaves: Uint8Array[] = [];
  private partial: Buffer[] = [];
  private partialLength = 0;
  size = 0;

  update(chunk: Uint8Array): void {
    this.size += chunk.length;
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(LEAF_SIZE - this.partialLength, chunk.length - offset);
      if (this.partialLength === 0 && take === LEAF_SIZE) {
        // A whole leaf inside this chunk: hash it in place, no copy.
        this.leaves.push(hashLeaf(chunk.subarray(offset, offset + take)));
      } else {
        this.partial.push(Buffer.from(chunk.subarray(offset, offset + take)));
        this.partialLength += take;
        if (this.partialLength === LEAF_SIZE) this.flushLeaf();
      }
      offset += take;
    }
  }

  /** The shard's ID, leaf hashes and Merkle root. Call once, at the end. */
  digest(): ShardDigest {
    if (this.partialLength > 0 || this.leaves.length === 0) this.flushLeaf();
    return digestFromLeaves(this.leaves, this.size);
  }

  private flushLeaf(): void {
    this.leaves.push(hashLeaf(Buffer.concat(this.partial, this.partialLength)));
    this.partial = [];
    this.partialLength = 0;
  }
}
