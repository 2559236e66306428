/** PING: answered with PONG, nothing else (liveness does the bookkeeping of who asked). */
import type { RequestHandler } from '../../rpc/rpc.js';
import { Pong } from '../messages.js';

export function pingHandler(): RequestHandler<Record<string, never>> {
  return () => ({ spec: Pong, body: {} });
}
