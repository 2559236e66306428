/**
 * Maps our port (UDP and TCP, the same number) on the home router, so strangers can reach us:
 * UPnP IGD first, then NAT-PMP, through @achingbrain/nat-port-mapper (what libp2p uses). Leases
 * are renewed by us at half their length on the injected clock (the library's own refresh keys
 * its timers by port alone, so UDP and TCP of one port would share one timer), and removed on
 * stop one at a time: the library's NAT-PMP `stop()` unmaps in parallel and binds its socket
 * twice (ERR_SOCKET_ALREADY_BOUND, uncaught), so with our own refresh its `stop()` only closes.
 * Its NAT-PMP client sends `ttl` as given in seconds while UPnP takes ms: both are set here.
 * Its UPnP `unmap` sends DeletePortMapping with an empty protocol, which miniupnpd refuses (the
 * mapping stayed, found by test/nat-traversal.test.ts), so UPnP mappings are deleted here per
 * protocol through the library's device (`upnpDevice`, the one place that reaches inside it; the
 * version is pinned for that reason).
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { type Gateway, pmpNat, upnpNat } from '@achingbrain/nat-port-mapper';
import { formatAddress } from '../net/address.js';
import { type Clock, every, systemClock } from '../util/clock.js';
import { NAT_DEFAULTS } from './constants.js';
import type { PortMapper } from './nat-service.js';
import type { MappingInfo } from './status.js';

export type MappingProtocol = MappingInfo['protocol'];

export interface PortMappingOptions {
  clock?: Clock;
  /** Lease asked for, in seconds (default 2 h; UPnP routers here get at least 1 h). */
  ttlSeconds?: number;
  /** ms between renewals (default half the lease). */
  renewEveryMs?: number;
  /** ms discovery and each mapping request may take. */
  timeoutMs?: number;
  /** Which protocols to try, in order (default UPnP, then NAT-PMP). */
  protocols?: MappingProtocol[];
  description?: string;
}

export class PortMapping implements PortMapper {
  private gateway: Gateway | null = null;
  private info: MappingInfo | null = null;
  private port = 0;
  private internalHost = '';
  private stopRenewing: () => void = () => {};
  /** A renewal under way: stop waits for it, or it could map again what stop just removed. */
  private renewing: Promise<void> | null = null;
  /** The first mapping under way (discovery can take `timeoutMs` per protocol): stop cuts it short. */
  private starting: Promise<MappingInfo | null> | null = null;
  private readonly stopping = new AbortController();
  private readonly clock: Clock;
  private readonly ttlSeconds: number;
  private readonly timeoutMs: number;
  /** Renewals that succeeded and failed (a failed one is tried again at the next interval). */
  readonly counters = { renewals: 0, renewalErrors: 0 };

  constructor(private readonly options: PortMappingOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.ttlSeconds = options.ttlSeconds ?? NAT_DEFAULTS.mappingTtlSeconds;
    this.timeoutMs = options.timeoutMs ?? NAT_DEFAULTS.mappingTimeoutMs;
  }

  current(): MappingInfo | null {
    return this.info;
  }

  /** Maps `port` for UDP and TCP through the first protocol the router answers; null if none does. */
  start(port: number): Promise<MappingInfo | null> {
    this.port = port;
    this.starting = this.firstMapping();
    return this.starting;
  }

  private async firstMapping(): Promise<MappingInfo | null> {
    for (const protocol of this.options.protocols ?? ['upnp', 'nat-pmp']) {
      if (this.stopping.signal.aborted) return null;
      const gateway = await this.find(protocol).catch(() => null);
      if (!gateway) continue;
      try {
        this.internalHost = localAddressFacing(gateway.host);
        this.gateway = gateway;
        this.info = await this.mapBoth(protocol);
        // Stopped meanwhile: stop() removes what was just made.
        if (this.stopping.signal.aborted) return this.info;
        this.stopRenewing = every(this.clock, this.options.renewEveryMs ?? (this.ttlSeconds * 1000) / 2, () => {
          this.renewing ??= this.renew().finally(() => (this.renewing = null));
        });
        return this.info;
      } catch {
        this.gateway = null;
        await gateway.stop().catch(() => {});
      }
    }
    return null;
  }

  private async find(protocol: MappingProtocol): Promise<Gateway | null> {
    if (protocol === 'nat-pmp') {
      const gw = defaultGateway();
      return gw ? pmpNat(gw, { autoRefresh: false }) : null;
    }
    for await (const gateway of upnpNat({ autoRefresh: false }).findGateways({ signal: this.signal() })) return gateway;
    return null;
  }

  private async mapBoth(protocol: MappingProtocol): Promise<MappingInfo> {
    const gateway = this.gateway!;
    // The library remembers every UPnP mapping it made, renewals included: keep one generation.
    upnpDevice(gateway)?.mappings?.delete(this.port);
    const ttl = protocol === 'upnp' ? this.ttlSeconds * 1000 : this.ttlSeconds;
    const common = { ttl, autoRefresh: false, description: this.options.description ?? 'dbs peer', externalPort: this.port };
    // One at a time: the NAT-PMP client keeps a single request in flight anyway.
    const udp = await gateway.map(this.port, this.internalHost, { ...common, protocol: 'udp', signal: this.signal() });
    await gateway.map(this.port, this.internalHost, { ...common, protocol: 'tcp', externalPort: udp.externalPort, signal: this.signal() });
    const granted = protocol === 'upnp' ? Math.max(this.ttlSeconds, 3600) : this.ttlSeconds;
    return { protocol, external: formatAddress({ host: udp.externalHost, port: udp.externalPort }), expiresAt: this.clock.now() + granted * 1000 };
  }

  private async renew(): Promise<void> {
    if (!this.gateway || !this.info) return;
    try {
      this.info = await this.mapBoth(this.info.protocol);
      this.counters.renewals++;
    } catch {
      this.counters.renewalErrors++;
    }
  }

  /** A request's signal: its own timeout, or stop(). */
  private signal(): AbortSignal {
    return AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.stopping.signal]);
  }

  /** Cuts a first mapping under way short, then removes both mappings (one at a time) and closes the library's sockets. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.starting?.catch(() => null);
    this.stopRenewing();
    await this.renewing;
    const gateway = this.gateway;
    const info = this.info;
    this.gateway = null;
    this.info = null;
    if (!gateway || !info) return;
    const signal = AbortSignal.timeout(this.timeoutMs);
    const device = info.protocol === 'upnp' ? upnpDevice(gateway) : null;
    if (device?.gateway) {
      for (const protocol of ['UDP', 'TCP']) {
        const args = [['NewRemoteHost', ''], ['NewExternalPort', String(this.port)], ['NewProtocol', protocol]];
        await device.gateway.run(WAN_IP_CONNECTION_2, 'DeletePortMapping', args, { signal }).catch(() => {});
      }
      device.mappings?.delete(this.port);
    } else if (info.protocol === 'upnp') {
      await gateway.unmap(this.port, { signal }).catch(() => {});
    } else {
      // NAT-PMP deletes one protocol per request (lifetime 0); the library's unmap passes options on.
      for (const protocol of ['udp', 'tcp']) await gateway.unmap(this.port, { signal, protocol } as { signal: AbortSignal }).catch(() => {});
    }
    await gateway.stop().catch(() => {});
  }
}

const WAN_IP_CONNECTION_2 = 'urn:schemas-upnp-org:service:WANIPConnection:2';

/** What @achingbrain/nat-port-mapper 4.0.5's UPnP gateway holds inside (see the header). */
interface UpnpInternals {
  gateway?: { run(service: string, action: string, args: string[][], options: { signal: AbortSignal }): Promise<unknown> };
  mappings?: Map<number, unknown[]>;
}

function upnpDevice(gateway: Gateway): UpnpInternals | null {
  const inside = gateway as unknown as UpnpInternals;
  return inside.mappings instanceof Map && typeof inside.gateway?.run === 'function' ? inside : null;
}

/** The IPv4 default gateway from the kernel's routing table (Linux); null elsewhere or if none. */
export function defaultGateway(): string | null {
  let table: string;
  try {
    table = readFileSync('/proc/net/route', 'utf8');
  } catch {
    return null;
  }
  for (const line of table.split('\n').slice(1)) {
    const [, destination, gateway] = line.trim().split(/\s+/);
    if (destination !== '00000000' || !gateway || gateway === '00000000') continue;
    // Little-endian hex: 0101A8C0 is 192.168.1.1.
    const n = parseInt(gateway, 16);
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
  }
  return null;
}

/** Our IPv4 address on the interface whose subnet holds `gateway` (what the router maps to). */
function localAddressFacing(gateway: string): string {
  const toInt = (ip: string) => ip.split('.').reduce((a, b) => (a << 8) + Number(b), 0) >>> 0;
  const target = toInt(gateway);
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.family !== 'IPv4' || a.internal) continue;
      const mask = toInt(a.netmask);
      if (((toInt(a.address) & mask) >>> 0) === ((target & mask) >>> 0)) return a.address;
    }
  }
  throw new Error(`no local address on the network of the gateway ${gateway}`);
}
