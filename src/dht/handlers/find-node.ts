/** FIND_NODE: answered with our k closest contacts to the target and a write token for the asker. */
import type { RequestHandler } from '../../rpc/rpc.js';
import type { WriteTokens } from '../tokens.js';
import { type FindNodeBody, Nodes } from '../messages.js';
import { type ClosestContacts, closestExcept, fitForStranger, type KnownContacts } from './closest.js';

export interface FindNodeComponents {
  table: ClosestContacts & KnownContacts;
  tokens: Pick<WriteTokens, 'issue'>;
}

export function findNodeHandler(components: FindNodeComponents, init: { k: number }): RequestHandler<FindNodeBody> {
  return (body, from) => {
    const reply = { nodes: closestExcept(components.table, body.target, from, init.k), token: components.tokens.issue(from) };
    return { spec: Nodes, body: fitForStranger(components.table, from, Nodes, reply, body.padded) };
  };
}
