/**
 * Places full shards in the background while the next one fills: at most `atOnce` at a time
 * (each is a file on disk, so memory stays flat); the first failure stops the backup.
 */
export class ShardUploader {
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | null = null;

  constructor(private readonly atOnce: number) {}

  /** Throws the first failure of an upload started earlier, if any. */
  check(): void {
    if (this.failure) throw this.failure.error;
  }

  /**
   * Waits for a free place, then starts `upload` in the background. If an earlier upload
   * failed, runs `abandon` instead and throws that failure.
   */
  async submit(upload: () => Promise<void>, abandon: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.atOnce) await Promise.race(this.running);
    if (this.failure) {
      await abandon();
      this.check();
    }
    const task = upload().catch((error: unknown) => {
      // Kept, not dropped: the next check() throws it.
      this.failure ??= { error };
    });
    this.running.add(task);
    void task.then(() => this.running.delete(task));
  }

  /** Waits for every upload started (failed ones clean up after themselves). */
  async settle(): Promise<void> {
    await Promise.all(this.running);
  }

  /** Waits for every upload, then throws the first failure, if any. */
  async finish(): Promise<void> {
    await this.settle();
    this.check();
  }
}
