/** Turns the library's refusal codes into the one line a person reads when a backup found no host. */
import { countRefusals, isHostRefusal, type Refusal, refusalText } from '../contracts/refusals.js';

export function describeRefusals(refusals: readonly Refusal[]): string {
  if (refusals.length === 0) return 'no other peer is known yet (check --bootstrap or --tracker, and that other peers are running)';
  return countRefusals(refusals)
    .map(([code, n]) => `${n} ${n === 1 ? 'peer' : 'peers'} ${isHostRefusal(code) ? `refused: ${refusalText(code)}` : refusalText(code)}`)
    .join('; ');
}
