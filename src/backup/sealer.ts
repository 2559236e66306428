/**
 * Seals a backup's new chunks on a worker thread, a few ahead of the main thread, and hands
 * them on sealed in the order they were read.
 */
import type { BackupKeys } from './crypto.js';
import { SEAL_OVERHEAD } from './crypto.js';
import { type ChunkResult, CryptoWorker } from './crypto-worker.js';
import { SEALING_AHEAD } from './constants.js';

export class Sealer {
  private readonly worker: CryptoWorker;
  private readonly sealing: Promise<ChunkResult>[] = [];

  constructor(
    keys: BackupKeys,
    /** The largest plaintext chunk (bytes). */
    maxChunk: number,
    /** Sealed chunks handed on: `bytes` is valid only until the returned promise settles. */
    private readonly take: (id: Uint8Array, sealed: Buffer) => Promise<void>,
    private readonly ahead = SEALING_AHEAD,
  ) {
    this.worker = new CryptoWorker(keys, maxChunk + SEAL_OVERHEAD, ahead + 1);
  }

  /** Starts sealing `plain` (copied: the caller may reuse it once this resolves); hands on chunks beyond `ahead`. */
  async seal(id: Uint8Array, plain: Uint8Array): Promise<void> {
    this.sealing.push((await this.worker.seal(id, plain)).result);
    await this.handOn(this.ahead);
  }

  /** Hands on every chunk still being sealed. */
  flush(): Promise<void> {
    return this.handOn(0);
  }

  /** Drops the chunks still being sealed (the backup failed): their slots go back as they finish. */
  abandon(): void {
    // A chunk that fails to seal now is of no interest: the backup already failed.
    for (const s of this.sealing.splice(0)) void s.then((c) => c.release(), () => {});
  }

  close(): Promise<void> {
    return this.worker.close();
  }

  private async handOn(keep: number): Promise<void> {
    while (this.sealing.length > keep) {
      const sealed = await this.sealing.shift()!;
      try {
        await this.take(sealed.id, sealed.bytes);
      } finally {
        sealed.release();
      }
    }
  }
}
