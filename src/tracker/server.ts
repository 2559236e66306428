/**
 * The optional HTTP tracker of the project's first design (see the seed document): peers
 * POST /subscribe with their node ID and address, GET /nodes for bootstrap contacts, and POST
 * /ping to stay listed. The DHT never depends on it; it only saves typing a bootstrap address.
 *
 * It checks what it can: the node ID must be SHA-1 of the address (the DHT's own rule), and
 * the address's host must be the one the request came from, so nobody can list someone
 * else's machine. It cannot check the port; peers verify contacts by talking to them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatAddress, parseAddress } from '../net/address.js';
import { nodeIdFromAddress } from '../net/node-id.js';
import { toHex } from '../util/bytes.js';
import { canonicalIp } from '../util/ip.js';
import { type Clock, systemClock } from '../util/clock.js';
import { DEFAULT_REGISTRY_OPTIONS, type RegistryOptions, TrackerRegistry } from './registry.js';
import { readJsonBody } from '../util/json-body.js';

const MAX_BODY_BYTES = 4096;

export interface TrackerServerOptions extends Partial<RegistryOptions> {
  host?: string;
  port?: number;
  clock?: Clock;
}

export class TrackerServer {
  readonly registry: TrackerRegistry;
  private readonly server: http.Server;

  private constructor(options: TrackerServerOptions) {
    this.registry = new TrackerRegistry(options.clock ?? systemClock, { ...DEFAULT_REGISTRY_OPTIONS, ...options });
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 10_000;
  }

  static async listen(options: TrackerServerOptions = {}): Promise<TrackerServer> {
    const tracker = new TrackerServer(options);
    await new Promise<void>((resolve, reject) => {
      tracker.server.once('error', reject);
      tracker.server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    return tracker;
  }

  /** The URL peers pass as `--tracker`. */
  get url(): string {
    const { address, port } = this.server.address() as AddressInfo;
    return `http://${formatAddress({ host: address, port })}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const route = `${req.method} ${(req.url ?? '').split('?')[0]}`;
      if (route === 'GET /nodes') {
        const except = new URL(req.url ?? '/', 'http://x').searchParams.get('except') ?? undefined;
        return reply(200, { nodes: this.registry.nodes(except).map(({ nodeId, address }) => ({ nodeId, address })) });
      }
      if (route !== 'POST /subscribe' && route !== 'POST /ping') return reply(404, { error: `no such endpoint: ${route}` });
      const body = await readJsonBody(req, MAX_BODY_BYTES);
      const nodeId = typeof body.nodeId === 'string' ? body.nodeId.toLowerCase() : '';
      if (!/^[0-9a-f]{40}$/.test(nodeId)) return reply(400, { error: 'nodeId must be 40 hex digits' });
      if (route === 'POST /ping') {
        return this.registry.ping(nodeId) ? reply(200, { ok: true }) : reply(404, { error: 'unknown node: subscribe again' });
      }
      const address = parseAddress(String(body.address ?? ''));
      if (toHex(nodeIdFromAddress(address)) !== nodeId) return reply(400, { error: 'nodeId is not SHA-1 of the address' });
      if (canonicalIp(req.socket.remoteAddress ?? '') !== address.host) return reply(403, { error: 'the address must be on the host the request comes from' });
      this.registry.subscribe(nodeId, formatAddress(address));
      return reply(200, { ok: true });
    } catch (err) {
      return reply(400, { error: err instanceof Error ? err.message : 'bad request' });
    }
  }
}
