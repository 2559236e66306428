/**
 * Browsing beside prune: `ls`, `diff`, `find`, the web page's folder listing and `stats`'
 * unique bytes read trees through the index while a prune may be removing the shards they
 * were in. Each walk holds the gate open from its start to its end (a read lease); prune runs
 * its removal (index rows, cancellations, local copies) through `removal`, which waits until
 * the walks open at that moment have ended and holds new walks back until it is done. So a
 * walk sees the index either all before the removal or all after it: a `find` over every
 * snapshot that began before a `forget --prune` lists the forgotten one's entries too instead
 * of failing halfway, and a walk begun during the removal starts once it is over.
 *
 * A walk whose caller stopped reading without ending it (an async iterator dropped, not
 * returned) would hold prune forever: prune waits `waitMs` at most (constants.ts,
 * BROWSE_DRAIN_MS), then removes anyway; such a walk may then fail on a shard gone.
 */
import type { Clock } from '../util/clock.js';

export class BrowseGate {
  private open = 0;
  private removing: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  constructor(private readonly clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>) {}

  /** Walks open now. */
  get walks(): number {
    return this.open;
  }

  /** A walk begins (waiting while a removal runs); call the returned function when it ends. */
  async enter(): Promise<() => void> {
    while (this.removing) await this.removing;
    this.open++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.open--;
      if (this.open === 0) this.drained?.();
    };
  }

  /**
   * Runs `work` once every open walk has ended or `waitMs` passed (`waiting` is called first if
   * it has to wait); walks that begin meanwhile wait until `work` is done.
   */
  async removal<T>(work: () => Promise<T>, waitMs: number, waiting?: () => void): Promise<T> {
    let done!: () => void;
    const gate = new Promise<void>((resolve) => (done = resolve));
    this.removing = gate;
    try {
      if (this.open > 0) {
        waiting?.();
        await new Promise<void>((resolve) => {
          const timer = this.clock.setTimeout(resolve, waitMs);
          timer.unref?.();
          this.drained = () => {
            this.clock.clearTimeout(timer);
            resolve();
          };
        });
        this.drained = null;
      }
      return await work();
    } finally {
      this.removing = null;
      done();
    }
  }
}
