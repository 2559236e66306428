/** FIND_NODE: answered with our k closest contacts to the target and a write token for the asker. */
import type { RequestHandler } from '../../rpc/rpc.js';
import type { WriteTokens } from '../tokens.js';
import { type FindNodeBody, Nodes } from '../messages.js';
import { type ClosestContacts, closestExcept } from './closest.js';

export interface FindNodeComponents {
  table: ClosestContacts;
  tokens: Pick<WriteTokens, 'issue'>;
}

export function findNodeHandler(components: FindNodeComponents, init: { k: number }): RequestHandler<FindNodeBody> {
  return (body, from) => ({
    spec: Nodes,
    body: { nodes: closestExcept(components.table, body.target, from, init.k), token: components.tokens.issue(from) },
  });
}
