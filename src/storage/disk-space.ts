/**
 * The real free space of the file system that holds the shards, so a host never promises more
 * than its disk can keep, whatever `--storage` says.
 *
 * `statfs` is asynchronous and the decision on a proposal is synchronous (it runs against
 * SQLite in one step), so this keeps the last sample and refreshes it in the background once
 * it is older than `sampleMaxAgeMs`, and at once after a write ran out of space. A write that
 * hit ENOSPC starts a "full" episode: the space counts as 0 until a sample shows room again,
 * and `full` is emitted once per episode (the daemon logs one warning, not one per upload).
 */
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import type { Clock } from '../util/clock.js';
import { DISK_DEFAULTS, type DiskOptions } from './constants.js';
import { isWritable, probeReadOnlySync } from './read-only.js';

export interface DiskSample {
  /** Bytes an unprivileged writer may still use (statfs bavail × bsize). */
  available: number;
  /** Size of the file system (blocks × bsize). */
  size: number;
}

export interface DiskSpaceEvents {
  /** A write ran out of space: once per episode. */
  full: [{ dir: string; available: number }];
  /** A sample shows room again after a full episode. */
  recovered: [{ dir: string; available: number }];
  /** The directory turned read-only (a write failed with EROFS, or a sample saw it): once per episode. */
  readOnly: [{ dir: string }];
  /** A sample found it writable again after a read-only episode. */
  writable: [{ dir: string }];
}

/** An error code of a write that failed because the file system has no room (or quota) left. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export class DiskSpace extends EventEmitter<DiskSpaceEvents> {
  private sample: DiskSample | null = null;
  private sampledAt = -Infinity;
  private refreshing: Promise<void> | null = null;
  private fullEpisode = false;
  private episodeStartedAt = 0;
  private readOnlyEpisode = false;
  readonly options: DiskOptions;

  constructor(
    readonly dir: string,
    private readonly clock: Pick<Clock, 'now'>,
    options: Partial<DiskOptions> = {},
  ) {
    super();
    this.options = { ...DISK_DEFAULTS, ...options };
  }

  /** Bytes kept free on this file system: the larger of the fixed and the proportional reserve. */
  reserve(size: number): number {
    return Math.max(this.options.reserveBytes, Math.ceil(size * this.options.reserveFraction));
  }

  /** Takes a new sample now. */
  refresh(): Promise<void> {
    this.refreshing ??= this.takeSample().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /**
   * Bytes that may still be promised on this disk (free space minus the reserve), from the last
   * sample; 0 during a full episode. Starts a background refresh when the sample is stale.
   * Infinity before the first sample (no sample means no disk bound known yet).
   */
  promisable(): number {
    if (this.clock.now() - this.sampledAt > this.options.sampleMaxAgeMs) void this.refresh().catch(() => {});
    if (this.fullEpisode || this.readOnlyEpisode) return 0;
    if (!this.sample) return Infinity;
    return Math.max(0, this.sample.available - this.reserve(this.sample.size));
  }

  /** The last sample (null before the first). */
  get last(): DiskSample | null {
    return this.sample;
  }

  get isFull(): boolean {
    return this.fullEpisode;
  }

  /** True while the directory is read-only (storage/read-only.ts): nothing new can be kept. */
  get isReadOnly(): boolean {
    return this.readOnlyEpisode;
  }

  /** A write failed with an I/O error: true (and the read-only episode started) if the directory cannot be written now. */
  confirmReadOnly(): boolean {
    if (!probeReadOnlySync(this.dir)) return false;
    this.ranReadOnly();
    return true;
  }

  /** A write failed with EROFS: start (or continue) the read-only episode. */
  ranReadOnly(): void {
    if (this.readOnlyEpisode) return;
    this.readOnlyEpisode = true;
    this.emit('readOnly', { dir: this.dir });
  }

  /** A write ran out of space: start (or continue) the full episode, and sample again. */
  ranOut(): void {
    if (!this.fullEpisode) {
      this.fullEpisode = true;
      this.episodeStartedAt = this.clock.now();
      this.emit('full', { dir: this.dir, available: this.sample?.available ?? 0 });
    }
    void this.refresh().catch(() => {});
  }

  private async takeSample(): Promise<void> {
    const s = await fs.statfs(this.dir);
    this.sample = { available: s.bavail * s.bsize, size: s.blocks * s.bsize };
    this.sampledAt = this.clock.now();
    if (!(await isWritable(this.dir, this.readOnlyEpisode))) this.ranReadOnly();
    else if (this.readOnlyEpisode) {
      this.readOnlyEpisode = false;
      this.emit('writable', { dir: this.dir });
    }
    // The episode ends once a later sample (not the one taken right after the failed write, which
    // sees the space its removed partial file gave back) shows room beyond the reserve again.
    const later = this.sampledAt - this.episodeStartedAt >= this.options.sampleMaxAgeMs;
    if (this.fullEpisode && later && this.sample.available > this.reserve(this.sample.size)) {
      this.fullEpisode = false;
      this.emit('recovered', { dir: this.dir, available: this.sample.available });
    }
  }
}
