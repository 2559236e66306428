/** FIND_VALUE: answered with the record if we hold one, else with our k closest contacts; always with a token. */
import type { RequestHandler } from '../../rpc/rpc.js';
import type { WriteTokens } from '../tokens.js';
import type { ValueStore } from '../value-store.js';
import { type FindValueBody, Value } from '../messages.js';
import { type ClosestContacts, closestExcept, fitForStranger, type KnownContacts } from './closest.js';

export interface FindValueComponents {
  table: ClosestContacts & KnownContacts;
  tokens: Pick<WriteTokens, 'issue'>;
  values: Pick<ValueStore, 'get'>;
}

export function findValueHandler(components: FindValueComponents, init: { k: number }): RequestHandler<FindValueBody> {
  return (body, from) => {
    const record = components.values.get(body.key);
    const reply = { nodes: record ? [] : closestExcept(components.table, body.key, from, init.k), token: components.tokens.issue(from), record };
    // A value too big for an unproven asker's budget gives way to contacts, which it may then ask.
    const fitted = fitForStranger(components.table, from, Value, reply, body.padded);
    if (fitted.record || !record) return { spec: Value, body: fitted };
    return { spec: Value, body: fitForStranger(components.table, from, Value, { nodes: closestExcept(components.table, body.key, from, init.k), token: reply.token }, body.padded) };
  };
}
