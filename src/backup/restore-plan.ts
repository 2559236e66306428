/**
 * A restore's plan, as pure functions of the snapshot: which entries to restore, which are
 * large, how big the crypto worker's slots must be, which shards to fetch in which order, and
 * which directories to sync at the end. No I/O.
 */
import path from 'node:path';
import { toHex } from '../util/bytes.js';
import { windowBound } from '../util/direct-io.js';
import type { SnapshotObject, TreeEntry } from './formats.js';
import { LARGE_FILE, RESTORE_FILES, SMALL_OPENING_SLOTS, SMALL_SLOTS_BYTES } from './constants.js';

/** The entries at `only` (a path inside the snapshot, '/'-trimmed) and below it; every entry without it. */
export function selectEntries(snapshot: Pick<SnapshotObject, 'entries'>, only: string | undefined): { prefix: string; selected: TreeEntry[] } {
  const prefix = only ? only.replace(/^\/+|\/+$/g, '') : '';
  const selected = snapshot.entries.filter((e) => !prefix || e.path === prefix || e.path.startsWith(`${prefix}/`));
  return { prefix, selected };
}

/** Bytes of file data in `entries`. */
export function totalBytes(entries: TreeEntry[]): number {
  return entries.reduce((s, e) => s + (e.type === 'file' ? e.size : 0), 0);
}

/** Large files are restored one at a time, with direct I/O and an fsync each. */
export function isLarge(e: Pick<TreeEntry, 'size'>, largeFile = LARGE_FILE): boolean {
  return e.size >= largeFile;
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
  snapshot: Pick<SnapshotObject, 'index'>,
  selected: TreeEntry[],
  maxChunk: number,
  limits: { largeFile: number; filesAtOnce: number; smallSlots: number; smallSlotsBytes: number } = {
    largeFile: LARGE_FILE,
    filesAtOnce: RESTORE_FILES,
    smallSlots: SMALL_OPENING_SLOTS,
    smallSlotsBytes: SMALL_SLOTS_BYTES,
  },
): SlotPlan {
  let largestSealed = 0;
  for (const loc of snapshot.index.values()) largestSealed = Math.max(largestSealed, loc.length);
  let largestSmallSealed = 0;
  let largestSmallFile = -1;
  for (const e of selected) {
    if (e.type !== 'file' || isLarge(e, limits.largeFile)) continue;
    largestSmallFile = Math.max(largestSmallFile, e.size);
    for (const id of e.chunks ?? []) largestSmallSealed = Math.max(largestSmallSealed, snapshot.index.get(toHex(id))?.length ?? 0);
  }
  const smallSlotBytes = Math.max(windowBound(largestSmallSealed), largestSmallFile, 1);
  // At most smallSlots, no more than fit smallSlotsBytes, but at least one per small file restored at once.
  const small = largestSmallFile >= 0 ? { slotBytes: smallSlotBytes, slots: Math.max(limits.filesAtOnce, Math.min(limits.smallSlots, Math.floor(limits.smallSlotsBytes / smallSlotBytes))) } : null;
  return { slotBytes: Math.max(windowBound(largestSealed), maxChunk), small };
}

/** The shards the selected files need, each once, in the order the files first need them. */
export function shardsInOrder(snapshot: Pick<SnapshotObject, 'index'>, selected: TreeEntry[]): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  for (const e of selected) {
    for (const id of e.chunks ?? []) {
      const loc = snapshot.index.get(toHex(id));
      if (!loc) continue;
      const key = toHex(loc.shard);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(loc.shard);
    }
  }
  return out;
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

/** Directories, deepest first: their modes and times are set last, after everything inside them is written. */
export function dirsDeepestFirst(selected: TreeEntry[]): TreeEntry[] {
  return selected.filter((x) => x.type === 'dir').sort((a, b) => b.path.length - a.path.length);
}
