/**
 * Backs up a folder by itself: when files in it are added or changed, waits for a quiet
 * moment (no change for `quietMs`), then runs the backup. Changes during a backup lead to one
 * more backup after it, never to two at once. The debounce logic (`QuietTrigger`) is separate
 * from the file-system watch so it can be tested with a manual clock.
 */
import { type FSWatcher, watch } from 'node:fs';
import type { Clock, TimerHandle } from '../util/clock.js';

/** Runs `action` once activity has been quiet for `quietMs`; never two runs at once. */
export class QuietTrigger {
  private timer: TimerHandle | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly quietMs: number,
    private readonly action: () => Promise<void>,
  ) {}

  /** Something changed: (re)start the quiet period. */
  poke(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => this.fire(), this.quietMs);
  }

  /** The run in progress, if any (so a caller can wait for it). */
  get busy(): Promise<void> | null {
    return this.running;
  }

  close(): void {
    this.closed = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private fire(): void {
    this.timer = null;
    this.running = this.action()
      // The action reports its own errors (FolderWatcherOptions.backup); a failed run only
      // means the next change tries again.
      .catch(() => {})
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }
}

export interface FolderWatcherOptions {
  clock: Clock;
  /** How long the folder must stay unchanged before a backup starts (default 10 s). */
  quietMs?: number;
  /** Runs the backup; its errors are the caller's to report (the watcher keeps watching). */
  backup: () => Promise<void>;
}

/** Watches `dir` recursively and backs it up after each quiet moment. */
export class FolderWatcher {
  private readonly trigger: QuietTrigger;
  private readonly watcher: FSWatcher;

  constructor(readonly dir: string, options: FolderWatcherOptions) {
    this.trigger = new QuietTrigger(options.clock, options.quietMs ?? 10_000, options.backup);
    this.watcher = watch(dir, { recursive: true }, () => this.trigger.poke());
    // A watch that breaks (folder deleted, too many watches) stops quietly; the peer runs on.
    this.watcher.on('error', () => this.close());
  }

  /** Starts a backup after the quiet period even without a change (e.g. when watching starts). */
  poke(): void {
    this.trigger.poke();
  }

  close(): void {
    this.trigger.close();
    this.watcher.close();
  }

  get busy(): Promise<void> | null {
    return this.trigger.busy;
  }
}
