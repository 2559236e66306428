/**
 * Backs up a folder by itself: when files in it are added or changed, waits for a quiet
 * moment (no change for `quietMs`), then runs the backup with the paths that changed (the
 * backup lists only directories on them, with a full walk now and then: WatchedChanges). Changes during a backup lead to one
 * more backup after it, never to two at once. The debounce logic (`QuietTrigger`) is separate
 * from the file-system watch so it can be tested with a manual clock.
 */
import { type FSWatcher, watch } from 'node:fs';
import path from 'node:path';
import { WATCH_FULL_WALK_EVERY, WATCH_MAX_PATHS } from './constants.js';
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

/**
 * The paths a watcher saw change since the last backup, as the next backup's `changedPaths`,
 * or null for a full walk: the first backup, every `fullWalkEvery`-th one (events can be
 * missed: an in-place edit whose event was dropped shows in no directory's mtime), after a
 * failed backup, after an event without a name, or past `maxPaths` paths. Pure: no timers.
 */
export class WatchedChanges {
  private readonly paths = new Set<string>();
  private full = true;
  private sinceFull = 0;

  constructor(
    private readonly fullWalkEvery = WATCH_FULL_WALK_EVERY,
    private readonly maxPaths = WATCH_MAX_PATHS,
  ) {}

  /** An event for `relPath` (relative to the folder, as fs.watch reports it; null: unnamed). */
  saw(relPath: string | null): void {
    if (relPath === null || this.paths.size >= this.maxPaths) this.full = true;
    else this.paths.add(relPath.split(path.sep).join('/'));
  }

  /** What the backup starting now gets; the set starts over. */
  take(): string[] | null {
    const full = this.full || this.sinceFull + 1 >= this.fullWalkEvery;
    const out = full ? null : [...this.paths];
    this.paths.clear();
    this.full = false;
    this.sinceFull = full ? 0 : this.sinceFull + 1;
    return out;
  }

  /** The backup that took the last set failed: the next one walks everything. */
  failed(): void {
    this.full = true;
  }
}

export interface FolderWatcherOptions {
  clock: Clock;
  /** How long the folder must stay unchanged before a backup starts (default 10 s). */
  quietMs?: number;
  /**
   * Runs the backup with the paths that changed (null: walk everything, see WatchedChanges);
   * its errors are the caller's to report (the watcher keeps watching), after it rejects the
   * next backup walks everything.
   */
  backup: (changedPaths: string[] | null) => Promise<void>;
}

/** Watches `dir` recursively and backs it up after each quiet moment. */
export class FolderWatcher {
  private readonly trigger: QuietTrigger;
  private readonly watcher: FSWatcher;

  private readonly changes = new WatchedChanges();

  constructor(readonly dir: string, options: FolderWatcherOptions) {
    this.trigger = new QuietTrigger(options.clock, options.quietMs ?? 10_000, () =>
      options.backup(this.changes.take()).catch((err: unknown) => {
        this.changes.failed();
        throw err;
      }),
    );
    this.watcher = watch(dir, { recursive: true }, (_event, filename) => {
      this.changes.saw(filename === null ? null : String(filename));
      this.trigger.poke();
    });
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
