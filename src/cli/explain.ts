/** Turns the library's refusal codes into the one line a person reads when a backup found no host. */
import type { Refusal } from '../contracts/negotiation.js';
import { RejectReason, type RejectReasonName, reasonText } from '../contracts/policy.js';

const OTHER_REASONS: Record<string, string> = {
  NO_ANSWER: 'did not answer',
  BAD_ANSWER: 'answered with an invalid signature or terms',
  TOO_LITTLE_SPACE: 'announce too little free space',
  HOST_LOST_DATA: 'lost our data before (failed an audit) and are not asked again',
};

export function describeRefusals(refusals: readonly Refusal[]): string {
  if (refusals.length === 0) return 'no other peer is known yet (check --bootstrap or --tracker, and that other peers are running)';
  const counts = new Map<string, number>();
  for (const r of refusals) counts.set(r.reason, (counts.get(r.reason) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => {
      const text = reason in RejectReason ? `refused: ${reasonText(RejectReason[reason as RejectReasonName])}` : (OTHER_REASONS[reason] ?? reason);
      return `${n} ${n === 1 ? 'peer' : 'peers'} ${text}`;
    })
    .join('; ');
}
