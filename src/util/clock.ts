/**
 * Time source and timers, injected everywhere a component waits or expires something,
 * so tests can drive grace periods and expiries without sleeping.
 */
export interface TimerHandle {
  /** Lets the process exit while this timer is pending (no-op for manual clocks). */
  unref?(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Node fires a timer longer than this after 1 ms instead; longer waits are clamped to it (~24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The real clock: `Date.now()` and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS)),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface ManualTimer extends TimerHandle {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when told to. `advance(ms)` fires every timer that falls due,
 * in order, including timers scheduled by the timers it fires.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    (handle as ManualTimer).cancelled = true;
    this.timers = this.timers.filter((t) => t !== handle);
  }

  /** Moves time forward by `ms`, firing due timers in time order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.timers) {
        if (t.at <= target && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = next.at;
      if (!next.cancelled) next.fn();
    }
    this.current = target;
  }

  /** Number of timers still waiting to fire. */
  pending(): number {
    return this.timers.length;
  }
}

/**
 * Runs `fn` every `intervalMs` on `clock` until the returned function is called.
 * Built from one-shot timers so manual clocks and the system clock behave the same.
 */
export function every(clock: Clock, intervalMs: number, fn: () => void): () => void {
  let handle: TimerHandle | undefined;
  let stopped = false;
  const schedule = () => {
    handle = clock.setTimeout(() => {
      if (stopped) return;
      schedule();
      fn();
    }, intervalMs);
    handle.unref?.();
  };
  schedule();
  return () => {
    stopped = true;
    if (handle) clock.clearTimeout(handle);
  };
}
