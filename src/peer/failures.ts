/**
 * Failures the peer's background work survives (a shard file that would not delete, a record
 * that could not be republished, a maintenance pass that threw): each is counted by kind and
 * logged at debug level (`NODE_DEBUG=peer`), then the next pass tries again.
 */
import { debuglog } from 'node:util';

const debug = debuglog('peer');

export type FailureKind = 'shard-delete' | 'root-republish' | 'maintenance' | 'hello';

export class Failures {
  readonly counts: Partial<Record<FailureKind, number>> = {};

  note(kind: FailureKind, err: unknown): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    debug('%s failed: %s', kind, err instanceof Error ? err.message : err);
  }
}
