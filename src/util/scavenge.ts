/**
 * A young-generation collection on demand, for code that makes many short-lived Buffers whose
 * memory V8 does not see: a download's socket delivers 64 KiB Buffers (malloc'd, tiny on the JS
 * heap), and V8 collects them only once their total passes its external-memory limit (64 MiB).
 * Until then they pile up in malloc's arena, which keeps the peak (docs/benchmarks.md: the
 * new-machine restore's largest memory item). A scavenge of a small young generation takes a
 * fraction of a millisecond.
 *
 * It needs V8's gc extension: --expose-gc is set (process-wide, as the crypto worker does) and
 * the function taken from a new context, so the app's own global scope gets no `gc`.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: ((options: { type: 'minor' }) => void) | null = null;

export function scavenge(): void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as (options: { type: 'minor' }) => void;
  }
  collect({ type: 'minor' });
}

/** Calls scavenge() once every `bytes` counted. */
export class ScavengeEvery {
  private since = 0;

  constructor(private readonly bytes: number) {}

  count(n: number): void {
    this.since += n;
    if (this.since < this.bytes) return;
    this.since = 0;
    scavenge();
  }
}
