/** The contacts a NODES or VALUE reply offers: our k closest to the target, never the asker. Pure. */
import type { Contact } from '../../net/node-id.js';
import { bytesEqual } from '../../util/bytes.js';
import type { Address } from '../../net/address.js';
import type { MessageSpec } from '../../wire/codec.js';
import { replyBudget, replyBytes, requestBytes } from '../reflection.js';

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

/** What the handlers need to tell a verified contact from a stranger. */
export interface KnownContacts {
  get(id: Uint8Array): Contact | undefined;
}

/** Whether `from` is a verified contact of ours at that very address (it answered our requests). */
export function isProven(table: KnownContacts, from: Contact): boolean {
  const known = table.get(from.id);
  return known !== undefined && known.host === from.host && known.port === from.port;
}

/**
 * The reply as is for a proven asker; for a stranger, trimmed (farthest contacts first, then
 * the record) until it fits the reflection budget of its request (reflection.ts).
 */
export function fitForStranger<B extends { nodes: Address[]; record?: unknown }>(table: KnownContacts, from: Contact, spec: MessageSpec<B>, reply: B, padded: number | undefined): B {
  if (isProven(table, from)) return reply;
  const budget = replyBudget(requestBytes(padded));
  let out = reply;
  if (out.record !== undefined && replyBytes(spec, out) > budget) out = { ...out, record: undefined };
  while (out.nodes.length > 0 && replyBytes(spec, out) > budget) out = { ...out, nodes: out.nodes.slice(0, -1) };
  return out;
}
