/** The contacts a NODES or VALUE reply offers: our k closest to the target, never the asker. Pure. */
import type { Contact } from '../../net/node-id.js';
import { bytesEqual } from '../../util/bytes.js';

/** What the handlers need of the routing table. */
export interface ClosestContacts {
  closest(target: Uint8Array, n: number): Contact[];
}

export function closestExcept(table: ClosestContacts, target: Uint8Array, except: Contact, k: number): Contact[] {
  return table
    .closest(target, k + 1)
    .filter((c) => !bytesEqual(c.id, except.id))
    .slice(0, k);
}
