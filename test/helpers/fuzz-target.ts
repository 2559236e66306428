/**
 * A live Peer in its own process, as the target of the bad-input tests (a crash shows as the
 * process exiting, and its memory is its own):
 *
 *   node dist/test/helpers/fuzz-target.js CONFIG_JSON
 *
 * CONFIG_JSON: {"dataDir": DIR, "storage": BYTES, "transfer": {...TransferServerOptions}?}.
 * The peer listens on 127.0.0.1 with the production DHT limits (rate limit, two contacts per
 * IP per bucket); maintenance is pushed out of the way so that every datagram it receives
 * comes from the test. Prints one JSON line once listening:
 * {"ready": true, "port", "publicKey"}; then answers one JSON command a line on stdin with one
 * JSON line: {"cmd": "received"} (datagrams so far, and datagrams and connections by source IP
 * as counted at the sockets), {"cmd": "status"} (peer.status(), the contract host's counters and
 * process.memoryUsage()), {"cmd": "gc"} (full collection, then the memory figures),
 * {"cmd": "stop"}. The end of stdin stops it too.
 */
import type { Socket } from 'node:dgram';
import type { Server, Socket as NetSocket } from 'node:net';
import { createInterface } from 'node:readline';
import { collectGarbage } from '../../src/util/scavenge.js';
import { Peer } from '../../src/peer/peer.js';
import type { TransferServerOptions } from '../../src/transfer/server.js';
import { toHex } from '../../src/util/bytes.js';
import { stopOnce } from './child-stop.js';

interface Config {
  dataDir: string;
  storage: number;
  allowance?: number;
  transfer?: Partial<TransferServerOptions>;
}

const config = JSON.parse(process.argv[2] ?? '') as Config;

const DAY = 86_400_000;
const peer = await Peer.start({
  dataDir: config.dataDir,
  storage: config.storage,
  host: '127.0.0.1',
  port: 0,
  // Production limits, except that no maintenance pass runs during a test (under 2^31 ms).
  dht: { maintenanceIntervalMs: 20 * DAY },
  maintenanceIntervalMs: 20 * DAY,
  ...(config.allowance ? { contracts: { allowance: config.allowance } } : {}),
  ...(config.transfer ? { transfer: config.transfer } : {}),
});

// What arrived from each source IP, counted by the harness at the socket, independently of
// the peer's own counters, so the test can check those against what each side sent.
const bySource = { udp: {} as Record<string, number>, tcp: {} as Record<string, number> };
const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);
const internals = peer as unknown as { dht: { rpc: { transport: { socket: Socket } } }; transferServer: { server: Server } };
internals.dht.rpc.transport.socket.prependListener('message', (_msg, rinfo) => bump(bySource.udp, rinfo.address));
internals.transferServer.server.prependListener('connection', (s: NetSocket) => bump(bySource.tcp, s.remoteAddress ?? '?'));

function say(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

const stop = stopOnce(peer);

createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (!line.trim()) return;
    const c = JSON.parse(line) as { id: number; cmd: string };
    if (c.cmd === 'stop') return void stop();
    if (c.cmd === 'gc') collectGarbage('major');
    // The cheap poll: how many datagrams and connections have arrived so far.
    if (c.cmd === 'received') return say({ id: c.id, received: peer.dht.rpc.stats().received, bySource });
    if (c.cmd === 'status' || c.cmd === 'gc') {
      say({ id: c.id, status: peer.status(), bySource, host: peer.contractService.host.counters, memory: process.memoryUsage() });
    } else {
      say({ id: c.id, error: `unknown command ${c.cmd}` });
    }
  })
  .on('close', () => void stop());

say({ ready: true, port: peer.address.port, publicKey: toHex(peer.publicKey) });
