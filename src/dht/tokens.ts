/**
 * Write tokens: a node hands one out with every NODES/VALUE reply and accepts a STORE only
 * with a token it issued to that same address recently. A sender that spoofs its source
 * address never sees the token, so it cannot make nodes store on someone else's behalf.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Clock } from '../util/clock.js';
import { type Address, formatAddress } from './id.js';
import { TOKEN_BYTES } from './messages.js';

export class WriteTokens {
  private readonly secret = randomBytes(32);

  /** Tokens stay valid for one to two `rotateMs` periods. */
  constructor(
    private readonly clock: Clock,
    private readonly rotateMs = 5 * 60_000,
  ) {}

  issue(to: Address): Uint8Array {
    return this.tokenFor(to, Math.floor(this.clock.now() / this.rotateMs));
  }

  check(from: Address, token: Uint8Array): boolean {
    const epoch = Math.floor(this.clock.now() / this.rotateMs);
    return Buffer.compare(this.tokenFor(from, epoch), token) === 0 || Buffer.compare(this.tokenFor(from, epoch - 1), token) === 0;
  }

  private tokenFor(address: Address, epoch: number): Uint8Array {
    const mac = createHmac('sha256', this.secret).update(`${epoch}|${formatAddress(address)}`).digest();
    return new Uint8Array(mac.subarray(0, TOKEN_BYTES));
  }
}
