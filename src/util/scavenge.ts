/**
 * Garbage collections on demand, for code that makes many short-lived Buffers whose memory V8
 * does not see: a download's socket delivers 64 KiB Buffers (malloc'd, tiny on the JS heap),
 * and the crypto worker's cipher and decompressor return fresh ones per piece. V8 collects them
 * only once their total passes its external-memory limit (64 MiB); until then they pile up in
 * malloc's arena, which keeps the peak (docs/benchmarks.md, backup). A scavenge of a small young
 * generation takes a fraction of a millisecond.
 *
 * It needs V8's gc extension: --expose-gc is set (process-wide) and the function taken from a
 * new context, so the app's own global scope gets no `gc`. Works on worker threads too.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collect = (options?: { type: 'minor' | 'major' }) => void;

let collect: Collect | null = null;

/** A collection now: 'minor' (the young generation) or 'major' (everything). */
export function collectGarbage(type: 'minor' | 'major'): void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as Collect;
  }
  collect({ type });
}

/** A young-generation collection now. */
export function scavenge(): void {
  collectGarbage('minor');
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
