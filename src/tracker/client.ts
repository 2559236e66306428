/**
 * A peer's use of the optional tracker: subscribe, fetch bootstrap contacts, ping to stay
 * listed. Every call has a short deadline; a tracker that is down only costs a log line.
 */
import { type Address, formatAddress, parseAddress } from '../net/address.js';
import { toHex } from '../util/bytes.js';

export class TrackerClient {
  constructor(
    readonly url: string,
    private readonly timeoutMs = 5000,
  ) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new RangeError(`tracker URL must start with http:// or https:// (got ${url})`);
  }

  async subscribe(nodeId: Uint8Array, address: Address): Promise<void> {
    await this.call('POST', '/subscribe', { nodeId: toHex(nodeId), address: formatAddress(address) });
  }

  /** Pings; subscribes again if the tracker forgot us (it restarted, or we were away). */
  async ping(nodeId: Uint8Array, address: Address): Promise<void> {
    const status = await this.call('POST', '/ping', { nodeId: toHex(nodeId) }, [404]);
    if (status === 404) await this.subscribe(nodeId, address);
  }

  /** Addresses of recently seen peers (not checked: the DHT checks them when it contacts them). */
  async nodes(except?: Uint8Array): Promise<Address[]> {
    const res = await fetch(new URL(`/nodes${except ? `?except=${toHex(except)}` : ''}`, this.url), { signal: AbortSignal.timeout(this.timeoutMs) });
    if (!res.ok) throw new Error(`tracker ${this.url} answered ${res.status}`);
    const body = (await res.json()) as { nodes?: Array<{ address?: unknown }> };
    const out: Address[] = [];
    for (const node of body.nodes ?? []) {
      try {
        out.push(parseAddress(String(node.address)));
      } catch {
        // A tracker can be wrong or hostile; a bad entry is skipped, not fatal.
      }
    }
    return out;
  }

  private async call(method: string, route: string, body: unknown, allowed: number[] = []): Promise<number> {
    const res = await fetch(new URL(route, this.url), {
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!res.ok && !allowed.includes(res.status)) {
      // The status alone says it refused; the body only adds detail when it can be read.
      const text = await res.text().catch(() => '');
      throw new Error(`tracker ${this.url} refused ${route}: ${res.status} ${text.slice(0, 200)}`);
    }
    await res.body?.cancel();
    return res.status;
  }
}
