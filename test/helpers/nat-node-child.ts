/**
 * One DHT node with its NAT service in its own process, for the NAT lab (run inside a namespace
 * with `ip netns exec NS node nat-node-child.js CONFIG_JSON`). It listens on TCP at the same port,
 * as a peer does. Prints {"ready": true, "address", "id"} once bound and joined, then answers
 * commands, one JSON object a line: {"cmd": "status"} (selfAddress, reach status, contacts,
 * stats), {"cmd": "reach"} (a reachability check), {"cmd": "ping", "to": "host:port"} (a DHT PING:
 * {"answered"}), {"cmd": "stop"}.
 */
import net from 'node:net';
import { createInterface } from 'node:readline';
import { DhtNode } from '../../src/dht/node.js';
import { formatAddress, parseAddress } from '../../src/net/address.js';
import { NatService, type NatServiceOptions } from '../../src/nat/nat-service.js';
import { PortMapping } from '../../src/nat/port-mapping.js';
import { toHex } from '../../src/util/bytes.js';

export interface NatNodeConfig {
  host: string;
  port: number;
  bootstrap: string[];
  addressQuorum?: number;
  /** Map the port on the router (UPnP / NAT-PMP) before joining. */
  mapPort?: boolean;
  mappingProtocols?: Array<'upnp' | 'nat-pmp'>;
  renewEveryMs?: number;
  /** Keepalives to rendezvous once client-only (ms; 0: none). */
  keepaliveIntervalMs?: number;
  /** Settings of our rendezvous service (benchmarks lift its rate limits). */
  rendezvous?: NatServiceOptions['rendezvous'];
}

const config = JSON.parse(process.argv[2] ?? '') as NatNodeConfig;
const say = (m: object) => process.stdout.write(`${JSON.stringify(m)}\n`);

const dht = await DhtNode.create({ host: config.host, port: config.port, addressQuorum: config.addressQuorum ?? 2, lookupTimeoutMs: 2000 });
const tcp = net.createServer((s) => s.destroy());
await new Promise<void>((resolve) => tcp.listen(dht.address.port, config.host, resolve));
const mapper = config.mapPort
  ? new PortMapping({ ...(config.mappingProtocols ? { protocols: config.mappingProtocols } : {}), ...(config.renewEveryMs ? { renewEveryMs: config.renewEveryMs } : {}) })
  : null;
const nat = new NatService(dht, {
  portMapper: mapper,
  ...(config.keepaliveIntervalMs !== undefined ? { keepaliveIntervalMs: config.keepaliveIntervalMs } : {}),
  ...(config.rendezvous ? { rendezvous: config.rendezvous } : {}),
});
nat.start(dht.address.port);
if (config.bootstrap.length > 0) await dht.bootstrap(config.bootstrap);
say({ ready: true, address: formatAddress(dht.address), id: toHex(dht.id) });

const stop = async () => {
  await nat.stop();
  await dht.close();
  tcp.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());

for await (const line of createInterface({ input: process.stdin })) {
  const { cmd, to } = JSON.parse(line) as { cmd: string; to?: string };
  if (cmd === 'status') {
    const self = dht.selfAddress();
    say({
      self: { ...self, address: formatAddress(self.address) },
      id: toHex(dht.id),
      reach: nat.status(),
      contacts: dht.contacts().map(formatAddress),
      stats: dht.stats(),
      dialBacks: nat.dialBacks,
      mapping: mapper?.counters ?? null,
      keepalives: nat.keepalives,
      punching: nat.punching,
    });
  } else if (cmd === 'ping') {
    say({ answered: await dht.ping(parseAddress(to!)).then(() => true, () => false) });
  } else if (cmd === 'reach') {
    say(await nat.checkReachability());
  } else if (cmd === 'stop') {
    await stop();
  }
}
await stop();
