/**
 * STORE: kept when the asker's write token is ours and the record checks out, for the TTL it
 * asked for up to `valueTtlMs`; refused with an ERROR reply (ErrorCode) otherwise, and counted.
 */
import { ErrorReply, type Reply, type RequestHandler } from '../../rpc/rpc.js';
import { sourceKey } from '../../util/ip.js';
import type { WriteTokens } from '../tokens.js';
import type { ValueStore } from '../value-store.js';
import { ErrorCode, type StoreBody, Stored } from '../messages.js';
import { checkRecord } from '../records.js';

export interface StoreComponents {
  tokens: Pick<WriteTokens, 'check'>;
  values: Pick<ValueStore, 'put'>;
  /** Counts a refused STORE. */
  refused: () => void;
}

export function storeHandler(components: StoreComponents, init: { valueTtlMs: number }): RequestHandler<StoreBody> {
  const refuse = (code: keyof typeof ErrorCode): Reply => {
    components.refused();
    return { spec: ErrorReply, body: { code: ErrorCode[code], message: code } };
  };
  return (body, from) => {
    if (!components.tokens.check(from, body.token)) return refuse('BAD_TOKEN');
    const invalid = checkRecord(body.key, body.record);
    if (invalid) return refuse(invalid);
    const ttlMs = Math.min(body.ttl * 1000, init.valueTtlMs);
    const outcome = components.values.put(body.key, body.record, ttlMs, sourceKey(from.host));
    return outcome === 'stored' ? { spec: Stored, body: {} } : refuse(outcome);
  };
}
