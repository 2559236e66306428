/**
 * A client-only peer's registrations with its rendezvous (the keepalive's beat, keepalive.ts):
 * REGISTER, and at once again with the cookie if the rendezvous asked for one. It remembers
 * which rendezvous hold a registration for us, so only they can make us punch (PUNCH_NOTIFY from
 * anyone else is ignored and counted) and our peer record names only them.
 */
import { type Address, formatAddress } from '../net/address.js';
import type { RpcEndpoint } from '../rpc/rpc.js';
import type { Clock } from '../util/clock.js';
import { Register, Registered } from './punch-messages.js';

export interface RegistrarComponents {
  rpc: Pick<RpcEndpoint, 'request'>;
  clock: Clock;
}

interface Registration {
  address: Address;
  cookie: Uint8Array | undefined;
  /** When the registration lapses unless renewed (ms); 0 while not registered. */
  until: number;
}

export class Registrar {
  private readonly entries = new Map<string, Registration>();

  constructor(private readonly components: RegistrarComponents) {}

  /** Registers (or renews) with `rendezvous`; rejects when it refuses or does not answer. */
  async register(rendezvous: Address): Promise<void> {
    const key = formatAddress(rendezvous);
    const entry = this.entries.get(key) ?? { address: { host: rendezvous.host, port: rendezvous.port }, cookie: undefined, until: 0 };
    this.entries.set(key, entry);
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const { body } = await this.components.rpc.request(rendezvous, Register, entry.cookie ? { cookie: entry.cookie } : {}, Registered);
        entry.cookie = body.cookie;
        if (body.ok) {
          entry.until = this.components.clock.now() + body.ttlMs;
          return;
        }
      }
      throw new Error(`${key} did not take our registration`);
    } catch (err) {
      this.entries.delete(key);
      throw err;
    }
  }

  /** Forgets every registration except those with the given rendezvous (the keepalive's set). */
  keepOnly(rendezvous: string[]): void {
    const keep = new Set(rendezvous);
    for (const key of [...this.entries.keys()]) if (!keep.has(key)) this.entries.delete(key);
  }

  /** Whether `from` is a rendezvous that holds a registration of ours now. */
  isRendezvous(from: Address): boolean {
    const e = this.entries.get(formatAddress(from));
    return e !== undefined && e.until > this.components.clock.now();
  }

  /** The rendezvous holding a registration of ours now (what our peer record names). */
  current(): Address[] {
    const now = this.components.clock.now();
    return [...this.entries.values()].filter((e) => e.until > now).map((e) => e.address);
  }
}
