/**
 * Direct writes at positions that are not on a page boundary: a piece of an erasure-coded shard
 * lands at i × P in the shard being assembled (src/backup/piece-fetch.ts), and P is a multiple of
 * 8, not of 4096. Without this every piece but the first would go through the page cache, and
 * the restore's direct reads of it would first wait for the kernel to write those pages back.
 */
import { ALIGN, type DirectWriteFile, releaseAligned, takeAligned } from './direct-io.js';
import { writeFully } from './write-fully.js';

/**
 * Writes all of `data` (page-aligned in memory, as hash slots are) at `position` of `file`. The
 * partial page at each end goes through the page cache (the page it shares with its neighbour's
 * bytes is then written by both through the cache, never direct, so the two stay coherent); the
 * whole pages between are copied into an aligned buffer (a memcpy, far cheaper than the page
 * cache's copy and writeback) and written direct.
 */
export async function writeAtAnyOffset(file: DirectWriteFile, data: Uint8Array, position: number): Promise<void> {
  const misaligned = position % ALIGN;
  if (misaligned === 0 || !file.isDirect) return file.write(data, position);
  const head = Math.min(data.length, ALIGN - misaligned);
  await writeFully(file.handle, data.subarray(0, head), position);
  const rest = data.subarray(head);
  if (rest.length === 0) return;
  const staging = takeAligned(rest.length);
  try {
    staging.set(rest);
    // Aligned position now: whole pages go direct, the partial last page through the cache.
    await file.write(staging.subarray(0, rest.length), position + head);
  } finally {
    releaseAligned(staging);
  }
}
