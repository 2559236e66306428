/**
 * A restore's plan, as pure logic fed one file at a time while the snapshot's trees are walked
 * (memory: the list of shards, never the entries): how many bytes, which shards in which order,
 * how big the crypto worker's slots must be. Plus the path rules restore.ts follows. No I/O.
 */
import path from 'node:path';
import { toHex } from '../util/bytes.js';
import { windowBound } from '../util/direct-io.js';
import type { ChunkLocation } from './formats.js';
import { LARGE_FILE, RESTORE_FILES, SMALL_OPENING_SLOTS, SMALL_SLOTS_BYTES } from './constants.js';

/** `only` ('/'-trimmed), the path inside the snapshot to restore; '' for all of it. */
export function normalizePrefix(only: string | undefined): string {
  return only ? only.replace(/^\/+|\/+$/g, '') : '';
}

/** Large files are restored one at a time, with direct I/O and an fsync each. */
export function isLarge(e: { size: number }, largeFile = LARGE_FILE): boolean {
  return e.size >= largeFile;
}

/** What a walk over the selected files adds up. */
export class RestorePlan {
  totalBytes = 0;
  /** Sealed bytes of the largest chunk any selected file needs. */
  largestSealed = 0;
  /** Bytes of the largest small file (-1: none), and of the largest sealed chunk of one. */
  largestSmallFile = -1;
  largestSmallSealed = 0;
  /** The shards the files need, each once, in the order they are first needed. */
  readonly shards: Uint8Array[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly largeFile = LARGE_FILE) {}

  /** A selected file of `size` bytes whose chunks are at `locations` (undefined: in no shard we know). */
  addFile(size: number, locations: Iterable<ChunkLocation | undefined>): void {
    this.totalBytes += size;
    const small = !isLarge({ size }, this.largeFile);
    if (small) this.largestSmallFile = Math.max(this.largestSmallFile, size);
    for (const loc of locations) {
      if (!loc) continue;
      this.largestSealed = Math.max(this.largestSealed, loc.length);
      if (small) this.largestSmallSealed = Math.max(this.largestSmallSealed, loc.length);
      const key = toHex(loc.shard);
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      this.shards.push(loc.shard);
    }
  }
}

export interface SlotPlan {
  /** bytes of each main slot: the largest sealed chunk's aligned read window, or the largest plaintext chunk we cut. */
  slotBytes: number;
  /** Slots of their own for small files' chunks (many at once, for little memory); null with no small file. */
  small: { slotBytes: number; slots: number } | null;
}

/**
 * Slots hold the largest sealed chunk's aligned read window, and a plaintext chunk of the
 * largest size we cut (a larger one, from other settings, comes back as a copy). Small files get
 * slots sized for their chunks (a small file's chunk is no larger than the file).
 */
export function slotSizes(
  plan: Pick<RestorePlan, 'largestSealed' | 'largestSmallFile' | 'largestSmallSealed'>,
  maxChunk: number,
  limits: { filesAtOnce: number; smallSlots: number; smallSlotsBytes: number } = { filesAtOnce: RESTORE_FILES, smallSlots: SMALL_OPENING_SLOTS, smallSlotsBytes: SMALL_SLOTS_BYTES },
): SlotPlan {
  const smallSlotBytes = Math.max(windowBound(plan.largestSmallSealed), plan.largestSmallFile, 1);
  // At most smallSlots, no more than fit smallSlotsBytes, but at least one per small file restored at once.
  const small = plan.largestSmallFile >= 0 ? { slotBytes: smallSlotBytes, slots: Math.max(limits.filesAtOnce, Math.min(limits.smallSlots, Math.floor(limits.smallSlotsBytes / smallSlotBytes))) } : null;
  return { slotBytes: Math.max(windowBound(plan.largestSealed), maxChunk), small };
}

/** `dirs` and every directory above them up to and including `top`: what a rename or mkdir in them changed. */
export function withAncestors(dirs: Iterable<string>, top: string): Set<string> {
  const out = new Set<string>([top]);
  for (let dir of dirs) {
    while (!out.has(dir) && dir !== path.dirname(dir)) {
      out.add(dir);
      dir = path.dirname(dir);
    }
  }
  return out;
}

/**
 * Directories in post-order from a depth-first walk (a directory right before its contents):
 * feed each walked path to `next`; it returns the directories the walk has left, deepest
 * first, whose modes and times may now be set. `end` returns the rest. Memory: the depth.
 */
export class LeftDirectories<T extends { path: string }> {
  private readonly open: T[] = [];

  next(entry: { path: string }, dir: T | null): T[] {
    const left: T[] = [];
    while (this.open.length > 0 && !entry.path.startsWith(`${this.open[this.open.length - 1]!.path}/`)) left.push(this.open.pop()!);
    if (dir) this.open.push(dir);
    return left;
  }

  end(): T[] {
    return this.open.splice(0).reverse();
  }
}
