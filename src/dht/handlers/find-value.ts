/** FIND_VALUE: answered with the record if we hold one, else with our k closest contacts; always with a token. */
import type { RequestHandler } from '../../rpc/rpc.js';
import type { WriteTokens } from '../tokens.js';
import type { ValueStore } from '../value-store.js';
import { type FindValueBody, Value } from '../messages.js';
import { type ClosestContacts, closestExcept } from './closest.js';

export interface FindValueComponents {
  table: ClosestContacts;
  tokens: Pick<WriteTokens, 'issue'>;
  values: Pick<ValueStore, 'get'>;
}

export function findValueHandler(components: FindValueComponents, init: { k: number }): RequestHandler<FindValueBody> {
  return (body, from) => {
    const record = components.values.get(body.key);
    return {
      spec: Value,
      body: { nodes: record ? [] : closestExcept(components.table, body.key, from, init.k), token: components.tokens.issue(from), record },
    };
  };
}
