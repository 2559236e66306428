/**
 * The peer's NAT work in one service with start/stop: it answers other peers' dial-back requests
 * (dial-back-server.ts), checks our own reachability when our address is known or changes and
 * every `reachabilityIntervalMs` (reachability-check.ts), keeps the DHT read-only while strangers
 * cannot reach us over UDP, and maps our port on the router when asked (port-mapping.ts).
 * Hole punching (docs/nat-traversal.md): while client-only it registers with a few rendezvous
 * (keepalive.ts beating registrar.ts); it serves as a rendezvous for others while reachable
 * (rendezvous-server.ts); it punches to peers behind NATs and answers their punches (puncher.ts),
 * opens and accepts TCP streams on punched paths (tcp-puncher.ts), and keeps punched peers out
 * of the DHT's routing table.
 */
import { type Address, formatAddress, parseAddress } from '../net/address.js';
import type { Contact } from '../net/node-id.js';
import type { RpcEndpoint } from '../rpc/rpc.js';
import { type Clock, every } from '../util/clock.js';
import type { SelfAddressInfo } from '../dht/node.js';
import { NAT_DEFAULTS } from './constants.js';
import { type DialBackCounters, DialBackServer, type DialBackServerInit } from './dial-back-server.js';
import type { Dialer } from './dialer.js';
import { ReachabilityCheck, type ReachabilityCheckInit, type ReachabilityVerdict } from './reachability-check.js';
import { type MappingInfo, reachStatus, type ReachStatus } from './status.js';
import { Keepalive } from './keepalive.js';
import { type PunchCounters, Puncher, type PuncherInit, type PunchResult } from './puncher.js';
import { Registrar } from './registrar.js';
import { type TcpPunchCounters, TcpPuncher, type TcpPuncherInit } from './tcp-puncher.js';
import type { Socket } from 'node:net';
import { PunchRoutes } from './punch-routes.js';
import { type PeerReach, peerReach } from './peer-reach.js';
import { type RendezvousCounters, RendezvousServer, type RendezvousServerInit } from './rendezvous-server.js';

/** What the service needs of the DHT node. */
export interface NatDht {
  readonly rpc: RpcEndpoint;
  readonly clock: Clock;
  contacts(): Contact[];
  /** Whether a contact is verified at that address (it answered our requests). */
  isProven(contact: Contact): boolean;
  ping(address: Address): Promise<unknown>;
  selfAddress(): SelfAddressInfo;
  setReadOnly(readOnly: boolean): void;
  useMappedAddress(address: Address): Promise<void>;
  onAddressChange(listener: (info: SelfAddressInfo) => void): void;
  setContactFilter(admit: (contact: Contact) => boolean): void;
}

/** A port mapping on the router (port-mapping.ts), or a stand-in. */
export interface PortMapper {
  /** Maps `port` (UDP and TCP); null when the router offers no mapping. */
  start(port: number): Promise<MappingInfo | null>;
  current(): MappingInfo | null;
  stop(): Promise<void>;
}

export interface NatServiceOptions {
  reachabilityIntervalMs?: number;
  dialBack?: Partial<DialBackServerInit>;
  check?: Partial<ReachabilityCheckInit>;
  /** Maps the port on the router before joining (only for a peer bound to a wildcard). */
  portMapper?: PortMapper | null;
  dialer?: Dialer;
  /** Keepalives of a client-only peer to its rendezvous (ms between beats; 0: none). */
  keepaliveIntervalMs?: number;
  rendezvousCount?: number;
  /** Serving as a rendezvous for others (rendezvous-server.ts). */
  rendezvous?: Partial<RendezvousServerInit>;
  punch?: Partial<PuncherInit>;
  tcpPunch?: Partial<TcpPuncherInit>;
}

export class NatService {
  private readonly server: DialBackServer;
  private readonly check: ReachabilityCheck;
  private readonly keepalive: Keepalive;
  private readonly registrar: Registrar;
  private readonly rendezvousServer: RendezvousServer;
  private readonly puncher: Puncher;
  private readonly tcpPuncher: TcpPuncher;
  /** Peers behind NATs and their rendezvous, learned from their records (discovery tells us). */
  readonly routes = new PunchRoutes();
  private readonly keepaliveOn: boolean;
  private stopTimer: () => void = () => {};
  private checking: Promise<ReachabilityVerdict> | null = null;
  private stopped = false;
  private readonly rendezvousListeners: (() => void)[] = [];
  /** The rendezvous set last told to listeners ("a,b,c"). */
  private lastRendezvous = '';

  constructor(
    private readonly dht: NatDht,
    private readonly options: NatServiceOptions = {},
  ) {
    const { rpc, clock } = dht;
    this.server = new DialBackServer({ rpc, clock, ...(options.dialer ? { dialer: options.dialer } : {}) }, options.dialBack);
    this.check = new ReachabilityCheck({ rpc, clock, contacts: () => dht.contacts() }, options.check);
    const intervalMs = options.keepaliveIntervalMs ?? NAT_DEFAULTS.keepaliveIntervalMs;
    this.keepaliveOn = intervalMs > 0;
    // The keepalive's beat is a REGISTER: it holds the mapping open and the rendezvous serves us.
    this.registrar = new Registrar({ rpc, clock });
    const register = async (a: Address) => {
      await this.registrar.register(a);
      this.rendezvousMaybeChanged();
    };
    this.keepalive = new Keepalive({ clock, ping: register, contacts: () => dht.contacts() }, { intervalMs, count: options.rendezvousCount ?? NAT_DEFAULTS.rendezvousCount });
    const reachable = () => {
      const self = dht.selfAddress();
      return self.source !== 'unknown' && !self.readOnly;
    };
    this.rendezvousServer = new RendezvousServer({ rpc, clock, reachable, isProven: (c) => dht.isProven(c) }, options.rendezvous);
    this.puncher = new Puncher({ rpc, clock, isRendezvous: (a) => this.registrar.isRendezvous(a) }, options.punch);
    // A peer reached by punching (or known to need it) answers us alone: keep it out of the table.
    dht.setContactFilter((c) => !this.puncher.punchPeer(c) && !this.routes.get(c));
    this.tcpPuncher = new TcpPuncher({ rpc, clock, punchedRecently: (a) => this.puncher.punchedRecently(a) }, options.tcpPunch);
    dht.onAddressChange(() => {
      // Results were about the old address.
      this.check.clear();
      this.checkSoon();
    });
  }

  /**
   * Starts the periodic reachability checks and, if a mapper was given and the peer is bound to a
   * wildcard, maps our port on the router in the background (discovery can take seconds, or time
   * out on a router without UPnP / NAT-PMP): the node runs read-only meanwhile and joins again
   * under the mapped address once it is there. `mapped` settles when that attempt is over.
   */
  start(port: number): void {
    const mapper = this.options.portMapper;
    if (mapper && this.dht.selfAddress().source === 'unknown') this.mapped = this.map(mapper, port);
    const interval = this.options.reachabilityIntervalMs ?? NAT_DEFAULTS.reachabilityIntervalMs;
    this.stopTimer = every(this.dht.clock, interval, () => this.checkSoon());
  }

  /** The port mapping attempt begun by `start` (null: none was made or the router offers none). */
  mapped: Promise<MappingInfo | null> = Promise.resolve(null);

  private async map(mapper: PortMapper, port: number): Promise<MappingInfo | null> {
    const mapping = await mapper.start(port).catch(() => null);
    if (!mapping || this.stopped) return null;
    await this.dht.useMappedAddress(parseAddress(mapping.external));
    return mapping;
  }

  /** Starts a reachability check in the background unless one is under way. */
  checkSoon(): void {
    if (!this.stopped) void this.checkReachability().catch(() => {});
  }

  /**
   * Asks contacts to dial us back, then keeps the DHT read-only if strangers cannot reach us over
   * UDP (or lets it take part fully once they can). Does nothing while our address is unknown.
   */
  checkReachability(): Promise<ReachabilityVerdict> {
    // One at a time, each a full check: one under way may have started with fewer contacts.
    const next = (this.checking ?? Promise.resolve()).catch(() => {}).then(() => this.runCheck());
    this.checking = next;
    void next.finally(() => {
      if (this.checking === next) this.checking = null;
    }).catch(() => {});
    return next;
  }

  private async runCheck(): Promise<ReachabilityVerdict> {
    const self = this.dht.selfAddress();
    if (self.source === 'unknown' || this.stopped) return this.check.verdict();
    const verdict = await this.check.run({ self: self.address, ...(self.source === 'mapped' ? { to: self.address } : {}) });
    if (this.stopped) return verdict;
    if (verdict.udp === 'unreachable') this.dht.setReadOnly(true);
    else if (verdict.udp === 'reachable') this.dht.setReadOnly(false);
    // A client-only peer with a known address holds its mappings to a few rendezvous open.
    if (verdict.udp === 'unreachable' && this.keepaliveOn) this.keepalive.start();
    else if (verdict.udp === 'reachable') this.keepalive.stop();
    return verdict;
  }

  /** Keepalive datagrams sent to rendezvous, and how many went unanswered. */
  get keepalives(): { sent: number; failed: number } {
    return { ...this.keepalive.counters };
  }

  /**
   * Opens a UDP path to `peer`, a client-only peer behind a NAT, through one of its `rendezvous`
   * (from its peer record). Throws PunchError (errors.ts).
   */
  punch(peer: Address, rendezvous: Address[]): Promise<PunchResult> {
    return this.puncher.connect(peer, rendezvous);
  }

  /**
   * A TCP stream to `peer` over a punched path (TCP simultaneous open, tcp-puncher.ts): punch the
   * UDP path first. Throws PunchError TIMEOUT (e.g. a NAT that does not keep ports) or RpcError.
   */
  openTcp(peer: Address): Promise<Socket> {
    return this.tcpPuncher.open(peer);
  }

  /** Who takes the TCP streams punched to us by others (the transfer server); until set, we refuse them. */
  acceptPunchedStreams(accept: (socket: Socket, peer: Address) => void): void {
    this.tcpPuncher.acceptor = accept;
  }

  /** Whether a path to `peer` was punched lately (its NAT mappings should hold). */
  punchedRecently(peer: Address): boolean {
    return this.puncher.punchedRecently(peer);
  }

  /** How each peer we know is reached (`dbs peers`): our DHT contacts, punched paths, peers to punch to. */
  peers(): PeerReach[] {
    return peerReach({
      contacts: this.dht.contacts(),
      rendezvous: this.keepalive.rendezvous,
      punched: this.puncher.punchedPaths(),
      toPunch: this.routes.all(),
      now: this.dht.clock.now(),
      freshMs: this.options.punch?.freshMs ?? NAT_DEFAULTS.punchedFreshMs,
    });
  }

  /** Called when the set of rendezvous holding our registration changed (the peer republishes its record). */
  onRendezvousChange(listener: () => void): void {
    this.rendezvousListeners.push(listener);
  }

  private rendezvousMaybeChanged(): void {
    const now = this.registeredWith().map(formatAddress).sort().join(',');
    if (now === this.lastRendezvous) return;
    this.lastRendezvous = now;
    for (const l of this.rendezvousListeners) l();
  }

  /** The rendezvous that hold a registration of ours now: what our peer record names (`r`). */
  registeredWith(): Address[] {
    if (!this.keepalive.running) return [];
    this.registrar.keepOnly(this.keepalive.rendezvous);
    return this.registrar.current();
  }

  /** Punches made and answered, and what we served as a rendezvous (with refusals). */
  get punching(): { punches: PunchCounters; tcp: TcpPunchCounters; rendezvous: RendezvousCounters & { registrations: number } } {
    return {
      punches: { ...this.puncher.counters },
      tcp: { ...this.tcpPuncher.counters },
      rendezvous: { ...this.rendezvousServer.counters, registrations: this.rendezvousServer.registrations },
    };
  }

  /** Dial-backs we made for others, and the requests we refused. */
  get dialBacks(): DialBackCounters {
    return { ...this.server.counters };
  }

  status(): ReachStatus {
    const self = this.dht.selfAddress();
    const { udp, tcp } = this.check.verdict();
    const mapping = this.options.portMapper?.current() ?? null;
    return {
      ...reachStatus({ address: self.address, source: self.source, readOnly: self.readOnly, observed: self.observed, udp, tcp, mapping }),
      rendezvous: this.keepalive.rendezvous,
      registeredWith: this.registeredWith().map(formatAddress),
    };
  }

  /** Stops the checks and removes the port mapping. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopTimer();
    this.keepalive.stop();
    // Cuts a mapping still being made short (or removes it once made), then removes ours.
    await this.options.portMapper?.stop().catch(() => {});
    await this.mapped.catch(() => null);
  }
}
