/**
 * A peer's two sockets on one port number: UDP (the DHT and the contract protocol) and TCP
 * (shard transfers). UDP is bound first; TCP then takes the same number. With port 0 the
 * system's pick may already be taken for TCP, so the pair is bound again (up to
 * `bindAttempts` times); with a given port that is an error at once.
 */
import type { Clock } from '../util/clock.js';
import { DhtNode } from '../dht/node.js';
import type { Transport } from '../transport/transport.js';
import { UdpTransport } from '../transport/udp.js';
import type { ShardStore } from '../storage/shard-store.js';
import { type ContractLedger, TransferServer, type TransferServerOptions } from '../transfer/server.js';
import type { ResolvedPeerOptions } from './options.js';

export type SocketOptions = Pick<ResolvedPeerOptions, 'host' | 'port' | 'bindAttempts' | 'wrapTransport' | 'dht' | 'transfer'> & { clock: Clock };

export interface BoundSockets<W> {
  dht: DhtNode;
  tcp: TransferServer;
  /** What `wire` built on the DHT that was kept. */
  wired: W;
}

/**
 * Binds UDP and starts the DHT on it, lets `wire` build the services that answer on it (their
 * handlers are registered before any datagram is read), then binds TCP on the same port with
 * the ledger `wire` returned. A failed attempt closes its DHT; what `wire` built is dropped.
 */
export async function bindSockets<W extends { ledger: ContractLedger }>(options: SocketOptions, shards: ShardStore, wire: (dht: DhtNode) => W): Promise<BoundSockets<W>> {
  for (let attempt = 0; ; attempt++) {
    const udp = await UdpTransport.bind(options.host, options.port);
    const transport: Transport = options.wrapTransport ? options.wrapTransport(udp) : udp;
    const dht = await DhtNode.create({ ...options.dht, transport, clock: options.clock });
    let wired: W;
    try {
      wired = wire(dht);
    } catch (err) {
      await dht.close();
      throw err;
    }
    try {
      const tcp = await TransferServer.listen(dht.address.host, dht.address.port, shards, wired.ledger, options.transfer);
      return { dht, tcp, wired };
    } catch (err) {
      await dht.close();
      const taken = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (!taken || options.port !== 0 || attempt >= options.bindAttempts) {
        throw taken ? new Error(`TCP port ${dht.address.port} is already in use on ${dht.address.host}`) : err;
      }
    }
  }
}
