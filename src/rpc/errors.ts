/** How a request fails: the ERROR reply a node sends when it refuses one, and RpcError. */
import { defineMessage } from '../wire/codec.js';
import { MessageType } from '../wire/message-types.js';

export interface ErrorBody {
  code: number;
  message: string;
}

/** The reply a node sends instead of the expected response when it refuses a request. */
export const ErrorReply = defineMessage<ErrorBody>({
  type: MessageType.ERROR,
  name: 'ERROR',
  isResponse: true,
  encode: (b) => ({ code: b.code, msg: b.message.slice(0, 120) }),
  decode: (f) => ({ code: f.uint('code', 65535), message: f.string('msg', 120) }),
});

/** Why a request failed: `TIMEOUT`, `QUEUE_FULL`, `CLOSED`, or `REMOTE` (the peer sent ERROR). */
export class RpcError extends Error {
  constructor(
    readonly code: 'TIMEOUT' | 'QUEUE_FULL' | 'CLOSED' | 'REMOTE',
    message: string,
    /** The peer's error code when `code` is `REMOTE`. */
    readonly remoteCode?: number,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}
