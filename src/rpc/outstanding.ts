/**
 * Requests sent and not yet answered: each is keyed by its transaction ID and the address it
 * went to (an answer from anywhere else does not match), retransmitted with the same ID after
 * each per-attempt timeout, and failed with TIMEOUT when its attempts run out.
 */
import { randomFillSync } from 'node:crypto';
import { type Address, formatAddress } from '../net/address.js';
import type { Contact } from '../net/node-id.js';
import { toHex } from '../util/bytes.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { MessageSpec } from '../wire/codec.js';
import { TXID_BYTES } from '../wire/codec.js';
import type { Transport } from '../transport/transport.js';
import { RpcError } from './errors.js';

/** A response accepted for a request. */
export interface Answer {
  spec: MessageSpec<unknown>;
  body: unknown;
  from: Contact;
}

/** A request waiting for its answer. */
export interface Pending {
  /** Message types that answer this request (ERROR always does). */
  expect: Set<number>;
  resolve: (value: Answer) => void;
  reject: (err: Error) => void;
}

export class OutstandingRequests {
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  constructor(
    private readonly transport: Pick<Transport, 'send'>,
    private readonly clock: Clock,
    /** The endpoint's counters this part keeps up to date. */
    private readonly counters: { sent: number; retransmits: number; timeouts: number },
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** Sends `datagram` to `to` (again after each timeout, `retries` times) until it is answered. */
  send(txid: Uint8Array, datagram: Uint8Array, to: Address, expect: Set<number>, timeoutMs: number, retries: number): Promise<Answer> {
    if (this.closed) return Promise.reject(new RpcError('CLOSED', 'endpoint closed'));
    const key = pendingKey(txid, to);
    let attemptsLeft = retries;
    return new Promise<Answer>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      const finish = () => {
        if (timer) this.clock.clearTimeout(timer);
        this.pending.delete(key);
      };
      const attempt = () => {
        this.transport.send(datagram, to);
        this.counters.sent++;
        timer = this.clock.setTimeout(() => {
          if (this.closed) return;
          if (attemptsLeft-- > 0) {
            this.counters.retransmits++;
            attempt();
          } else {
            finish();
            this.counters.timeouts++;
            reject(new RpcError('TIMEOUT', `no answer from ${formatAddress(to)}`));
          }
        }, timeoutMs);
        timer.unref?.();
      };
      this.pending.set(key, {
        expect,
        resolve: (v) => {
          finish();
          resolve(v);
        },
        reject: (e) => {
          finish();
          reject(e);
        },
      });
      attempt();
    });
  }

  /** The request that a response with `txid` from `from` answers, if one is waiting. */
  find(txid: Uint8Array, from: Address): Pending | undefined {
    return this.pending.get(pendingKey(txid, from));
  }

  /** Fails every waiting request with CLOSED; later ones fail at once. */
  close(): void {
    this.closed = true;
    for (const p of [...this.pending.values()]) p.reject(new RpcError('CLOSED', 'endpoint closed'));
  }
}

/** Transaction IDs drawn per getrandom call: one system call per this many requests. */
const TXIDS_PER_REFILL = 512;
const txidPool = Buffer.alloc(TXID_BYTES * TXIDS_PER_REFILL);
let txidOffset = txidPool.length;

/** A fresh random transaction ID. */
export function newTxid(): Uint8Array {
  if (txidOffset >= txidPool.length) {
    randomFillSync(txidPool);
    txidOffset = 0;
  }
  const id = new Uint8Array(txidPool.subarray(txidOffset, txidOffset + TXID_BYTES));
  txidOffset += TXID_BYTES;
  return id;
}

function pendingKey(txid: Uint8Array, from: Address): string {
  return `${toHex(txid)}|${formatAddress(from)}`;
}
