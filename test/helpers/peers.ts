/** Real peers on 127.0.0.1 with temporary data directories, for tests. */
import { rmSync } from 'node:fs';
import { Peer, type PeerOptions } from '../../src/peer/peer.js';
import type { ManualClock } from '../../src/util/clock.js';
import { LOOPBACK } from './network.js';

export const MiB = 2 ** 20;
export const GiB = 2 ** 30;

/** Long form of the fault suite (`npm run test:faults`, DBS_FAULTS=long) or the fast form of the normal run. */
export const LONG = process.env['DBS_FAULTS'] === 'long';

import { tempDir } from './temp.js';

export { tempDir };

/** Peer options for single-host tests: loopback DHT limits lifted, short timeouts. */
export function peerOptions(over: Partial<PeerOptions> = {}): PeerOptions {
  return {
    dataDir: tempDir(),
    storage: GiB,
    host: '127.0.0.1',
    port: 0,
    dht: { ...LOOPBACK, host: undefined } as PeerOptions['dht'],
    ...over,
  };
}

/** Starts `n` peers, each joining through the first. */
export async function startPeers(n: number, over: Partial<PeerOptions> = {}): Promise<Peer[]> {
  const first = await Peer.start(peerOptions(over));
  const peers = [first];
  for (let i = 1; i < n; i++) peers.push(await Peer.start(peerOptions({ ...over, bootstrap: [first.address] })));
  return peers;
}

export async function stopAll(peers: Iterable<Peer>, removeData = true): Promise<void> {
  const list = [...peers];
  await Promise.all(list.map((p) => p.stop()));
  if (removeData) for (const p of list) rmSync(p.dataDir, { recursive: true, force: true });
}

/**
 * Awaits `promise` while moving a manual clock forward in `stepMs` steps whenever the
 * event loop has gone quiet, so requests to silent peers time out without real waiting.
 */
export async function withClock<T>(clock: ManualClock, promise: Promise<T>, stepMs = 250, maxSteps = 400): Promise<T> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let step = 0; !settled && step < maxSteps; step++) {
    // Let pending I/O land first (at least 20 turns and 5 ms), so a loaded machine does not
    // turn a slow answer into a timeout.
    const quietUntil = Date.now() + 5;
    for (let turn = 0; (turn < 20 || Date.now() < quietUntil) && !settled; turn++) await new Promise((r) => setImmediate(r));
    if (!settled) clock.advance(stepMs);
  }
  return promise;
}
