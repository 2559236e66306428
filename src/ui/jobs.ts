/**
 * Long actions started from the page (backup, restore, check): each runs its control route's
 * handler in the background and is followed by the page through the live stream (progress,
 * then done or failed). Only the last `kept` finished jobs are remembered.
 */

export interface Job {
  id: number;
  kind: string;
  /** What the request asked (path, snapshot...), for the page to label the job. */
  request: Record<string, unknown>;
  state: 'running' | 'done' | 'failed';
  startedAt: number;
  endedAt: number | null;
  progress: unknown;
  result: unknown;
  error: { message: string; exitCode: number } | null;
}

export class Jobs {
  private nextId = 1;
  private readonly jobs: Job[] = [];

  constructor(
    private readonly kept: number,
    /** Called on every change (the server pushes it on the stream). */
    private readonly changed: (job: Job) => void,
    private readonly exitCodeOf: (err: unknown) => { message: string; exitCode: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts `run` and returns its job at once. */
  start(kind: string, request: Record<string, unknown>, run: (report: (p: unknown) => void) => Promise<unknown>): Job {
    const job: Job = { id: this.nextId++, kind, request, state: 'running', startedAt: this.now(), endedAt: null, progress: null, result: null, error: null };
    this.jobs.push(job);
    this.trim();
    this.changed(job);
    void run((p) => {
      job.progress = p;
      this.changed(job);
    }).then(
      (result) => this.end(job, 'done', result, null),
      (err: unknown) => this.end(job, 'failed', null, this.exitCodeOf(err)),
    );
    return job;
  }

  /** Newest first. */
  list(): Job[] {
    return [...this.jobs].reverse();
  }

  private end(job: Job, state: Job['state'], result: unknown, error: Job['error']): void {
    Object.assign(job, { state, result, error, endedAt: this.now() });
    this.changed(job);
    this.trim();
  }

  /** Drops the oldest finished jobs beyond `kept` (running ones stay). */
  private trim(): void {
    let finished = this.jobs.filter((j) => j.state !== 'running').length;
    for (let i = 0; i < this.jobs.length && finished > this.kept; ) {
      if (this.jobs[i]!.state !== 'running') {
        this.jobs.splice(i, 1);
        finished--;
      } else i++;
    }
  }
}
