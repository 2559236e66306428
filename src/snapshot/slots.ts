/**
 * A bounded number of running tasks, for the tree builder's files: a directory's files can be
 * saved a few at a time while their results keep their places (each task writes its own slot).
 * One caller at a time (the builder awaits each `run` before the next).
 */
export class Slots {
  private active = 0;
  /** Callers waiting for a task to end; each ending task wakes one. */
  private readonly waiters: (() => void)[] = [];
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
    while (this.active >= this.limit) await this.taskEnded();
    this.check();
    this.active++;
    task()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => {
        this.active--;
        this.waiters.shift()?.();
      });
  }

  /** Waits for every started task; throws the first failure. */
  async drain(): Promise<void> {
    while (this.active > 0) await this.taskEnded();
    this.check();
  }

  private taskEnded(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private check(): void {
    if (this.failure) throw this.failure.error;
  }
}
