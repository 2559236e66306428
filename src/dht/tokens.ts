/**
 * Write tokens: a node hands one out with every NODES/VALUE reply and accepts a STORE only
 * with a token it issued to that same address recently. A sender that spoofs its source
 * address never sees the token, so it cannot make nodes store on someone else's behalf.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Clock } from '../util/clock.js';
import { type Address, formatAddress } from '../net/address.js';
import { TOKEN_BYTES } from './messages.js';
import { TOKEN_CACHE_ENTRIES, TOKEN_ROTATE_MS } from './constants.js';

export class WriteTokens {
  private readonly secret = randomBytes(32);
  /** Tokens already computed, by epoch and address: a busy node answers the same peers often. */
  private readonly cache = new Map<string, Uint8Array>();

  /** Tokens stay valid for one to two `rotateMs` periods. */
  constructor(
    private readonly clock: Clock,
    private readonly rotateMs = TOKEN_ROTATE_MS,
  ) {}

  issue(to: Address): Uint8Array {
    return this.tokenFor(to, Math.floor(this.clock.now() / this.rotateMs));
  }

  check(from: Address, token: Uint8Array): boolean {
    const epoch = Math.floor(this.clock.now() / this.rotateMs);
    return Buffer.compare(this.tokenFor(from, epoch), token) === 0 || Buffer.compare(this.tokenFor(from, epoch - 1), token) === 0;
  }

  private tokenFor(address: Address, epoch: number): Uint8Array {
    const input = `${epoch}|${formatAddress(address)}`;
    let token = this.cache.get(input);
    if (!token) {
      token = new Uint8Array(createHmac('sha256', this.secret).update(input).digest().subarray(0, TOKEN_BYTES));
      if (this.cache.size >= TOKEN_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(input, token);
    }
    return token;
  }
}
