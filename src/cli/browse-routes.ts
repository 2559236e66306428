/**
 * The control routes of `dbs ls`, `dbs diff`, `dbs find` and `dbs stats`. Listings are streamed:
 * entries go out as progress lines of up to STREAM_BATCH, as the peer's walk yields them, and
 * the result is only their count, so neither side ever holds a whole snapshot's listing.
 */
import type { Peer } from '../peer/peer.js';
import type { SnapshotInfo } from '../backup/engine.js';
import type { ControlHandler } from '../control/protocol.js';

/** Entries per progress line: big enough that a line's framing costs little, small enough to show at once. */
export const STREAM_BATCH = 200;

export type BrowsePeer = Pick<Peer, 'snapshots' | 'ls' | 'diff' | 'find' | 'stats' | 'uniqueBytes'>;

async function stream<T>(items: AsyncIterable<T>, report: (p: unknown) => void): Promise<{ count: number }> {
  let batch: T[] = [];
  let count = 0;
  for await (const item of items) {
    batch.push(item);
    count++;
    if (batch.length >= STREAM_BATCH) {
      report({ items: batch });
      batch = [];
    }
  }
  if (batch.length) report({ items: batch });
  return { count };
}

export function browseRoutes(
  peer: BrowsePeer,
  resolve: (snapshots: SnapshotInfo[], wanted: string) => SnapshotInfo,
  text: (body: Record<string, unknown>, key: string, required?: boolean) => string | undefined,
): Record<string, ControlHandler> {
  const id = async (wanted: string) => resolve(await peer.snapshots(), wanted).id;
  return {
    'POST /ls-tree': async (body, report) => stream(peer.ls(await id(text(body, 'snapshot')!), (typeof body.path === 'string' ? body.path : ''), { recursive: body.recursive === true }), report),
    'POST /diff': async (body, report) => stream(peer.diff(await id(text(body, 'a')!), await id(text(body, 'b')!)), report),
    'POST /find': async (body, report) => {
      const snapshot = text(body, 'snapshot', false);
      return stream(peer.find(text(body, 'pattern')!, snapshot ? await id(snapshot) : undefined), report);
    },
    'GET /stats': async () => {
      await peer.snapshots(); // a new machine recovers its catalog first
      const unique = await peer.uniqueBytes();
      const stats = peer.stats();
      return { ...stats, snapshots: stats.snapshots.map((s) => (unique.has(s.id) ? { ...s, uniqueBytes: unique.get(s.id)! } : s)) };
    },
  };
}
