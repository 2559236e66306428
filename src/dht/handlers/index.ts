/** Registers the DHT's request handlers, one module per message kind, on the node's RPC endpoint. */
import type { RpcEndpoint } from '../../rpc/rpc.js';
import { FindNode, FindValue, Ping, Store } from '../messages.js';
import { findNodeHandler, type FindNodeComponents } from './find-node.js';
import { findValueHandler, type FindValueComponents } from './find-value.js';
import { pingHandler } from './ping.js';
import { storeHandler, type StoreComponents } from './store.js';

export type HandlerComponents = FindNodeComponents & FindValueComponents & StoreComponents & { tokens: FindNodeComponents['tokens'] & StoreComponents['tokens'] };

export function registerHandlers(rpc: Pick<RpcEndpoint, 'handle'>, components: HandlerComponents, init: { k: number; valueTtlMs: number }): void {
  rpc.handle(Ping, pingHandler());
  rpc.handle(FindNode, findNodeHandler(components, init));
  rpc.handle(FindValue, findValueHandler(components, init));
  rpc.handle(Store, storeHandler(components, init));
}
