/**
 * A bounded set of running tasks, for the tree builder's files: a directory's files can be
 * saved a few at a time while their results keep their places (each task writes its own slot).
 */
export class Slots {
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | null = null;

  constructor(private readonly limit: number) {
    if (!(limit >= 1)) throw new Error('at least one task must be allowed to run');
  }

  /**
   * Starts `task` once fewer than `limit` run. The first failure is thrown by the next `run` or
   * by `drain` (after the others finished); later failures are dropped, which is safe because
   * the caller fails with the first one anyway.
   */
  async run(task: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.limit) await Promise.race(this.running);
    this.check();
    const p: Promise<void> = task()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Waits for every started task; throws the first failure. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.race(this.running);
    this.check();
  }

  private check(): void {
    if (this.failure) throw this.failure.error;
  }
}
