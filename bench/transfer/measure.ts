/**
 * What bench:transfer measures: the raw-pipe rows and ours, in both directions, and one timed
 * run of a row with both processes' peak RSS.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import type { Contract } from '../../src/contracts/contract.js';
import type { ShardStore } from '../../src/storage/shard-store.js';
import type { TransferClient } from '../../src/transfer/client.js';
import { collectGarbage, peakRssBytes, resetPeakRss } from '../common.js';
import type { HostProcess } from './host.js';
import { rawDownload, rawUpload, Sink, type Timing } from './pipes.js';
import { HOST } from './settings.js';
import type { Shard } from './shard.js';

export type Direction = 'upload' | 'download';

export interface Measurement {
  direction: Direction;
  path: string;
  /** What the receiving side does with the bytes. */
  work: string;
  /** The raw pipe the goal compares against. */
  reference?: true;
  ours?: true;
  /** Untimed preparation; `run` is timed. All get the run's index. */
  before?(run: number): Promise<void>;
  run(run: number, timing: Timing): Promise<void>;
  after?(run: number): Promise<void>;
}

export interface Setup {
  shard: Shard;
  host: HostProcess;
  store: ShardStore;
  contracts: Contract[];
  client: TransferClient;
  rawFile: string;
}

export function measurements(s: Setup): Measurement[] {
  const { shard, host } = s;
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const address = { host: HOST, port: host.port };
  const removeRawFile = async () => fs.rm(s.rawFile, { force: true });
  return [
    { direction: 'upload', path: 'raw pipe', work: 'discard', reference: true, run: (_, t) => rawUpload(host.raw.discard, shard, 'ok', t) },
    { direction: 'upload', path: 'raw pipe + SHA-256', work: 'one SHA-256 pass, discard', run: (_, t) => rawUpload(host.raw.sha256, shard, hex(shard.sha256), t) },
    { direction: 'upload', path: 'raw pipe to a file', work: 'write, fsync', run: (_, t) => rawUpload(host.raw.file, shard, 'ok', t), after: removeRawFile },
    {
      direction: 'upload',
      path: 'raw pipe, SHA-256 + file',
      work: 'one SHA-256 pass, write, fsync',
      run: (_, t) => rawUpload(host.raw.sha256File, shard, hex(shard.sha256), t),
      after: removeRawFile,
    },
    {
      direction: 'upload',
      path: 'raw pipe, verify + file',
      work: 'leaf hashes on the main thread (ShardHasher), write, fsync',
      run: (_, t) => rawUpload(host.raw.verifyFile, shard, hex(shard.hash) + hex(shard.root), t),
      after: removeRawFile,
    },
    {
      direction: 'upload',
      path: 'ours: TransferClient.put',
      work: 'leaf hashes on a worker, 1 MiB writes, fsync, rename, ack (ShardStore.receive)',
      ours: true,
      // A host never receives a shard it already has; without this the rename would also unlink the old copy.
      before: () => s.store.delete(shard.hash),
      // From the file path, as Peer.placeShard uploads (send-file.ts: 1 MiB reads into two reused buffers).
      run: (i, t) => s.client.put(address, s.contracts[i]!, shard.file, () => (t.lastByteRead = performance.now())),
    },
    { direction: 'download', path: 'raw pipe', work: 'owner counts bytes', reference: true, run: () => rawDownload(host.raw.get, shard, 'count') },
    { direction: 'download', path: 'raw pipe + SHA-256', work: 'owner: one SHA-256 pass', run: () => rawDownload(host.raw.get, shard, 'sha256') },
    { direction: 'download', path: 'raw pipe, verify', work: 'owner: leaf hashes on the main thread (ShardHasher)', run: () => rawDownload(host.raw.get, shard, 'shard') },
    {
      direction: 'download',
      path: 'ours: TransferClient.get',
      work: 'owner: leaf hashes on a worker (verifying stream)',
      ours: true,
      // Uses the contract the PUT of the same run made active.
      run: async (i) => {
        const sink = new Sink('count');
        await pipeline(await s.client.get(address, s.contracts[i]!), sink);
        sink.check(shard);
      },
    },
  ];
}

export interface Sample {
  seconds: number;
  /** Uploads: from reading the last byte to the receiver's answer (what the receiver still had to do). */
  tailSeconds: number;
  ownerPeak: number;
  hostPeak: number;
}

/**
 * Before each measurement: flush the dirty pages the previous one left (so their writeback
 * does not slow this one down) and collect garbage in both processes (so a peak is this
 * measurement's own memory, not what the previous one left behind).
 */
async function settle(host: HostProcess): Promise<void> {
  execFileSync('sync');
  collectGarbage();
  await host.ask('gc');
}

export async function measureOnce(m: Measurement, run: number, host: HostProcess): Promise<Sample> {
  await m.before?.(run);
  await settle(host);
  resetPeakRss(process.pid);
  resetPeakRss(host.pid);
  const timing: Timing = { lastByteRead: NaN };
  const start = performance.now();
  await m.run(run, timing);
  const end = performance.now();
  const sample = {
    seconds: (end - start) / 1000,
    tailSeconds: (end - timing.lastByteRead) / 1000,
    ownerPeak: peakRssBytes(process.pid),
    hostPeak: peakRssBytes(host.pid),
  };
  await m.after?.(run);
  return sample;
}
