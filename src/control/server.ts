/**
 * The running peer's side of the control channel: an HTTP server on a Unix socket that only
 * the data directory's owner can reach (the directory is 0700 and the socket 0600). It
 * refuses to start while another peer answers on the same socket, so two peers never share
 * one data directory, and it removes a stale socket left by a peer that crashed.
 */
import { promises as fs } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { type ControlHandler, type ControlLine, HEADERS_TIMEOUT_MS, MAX_REQUEST_BYTES } from './protocol.js';
import { readJsonBody } from '../util/json-body.js';

/** Thrown when another process already serves this control socket. */
export class AlreadyRunningError extends Error {
  constructor(readonly socketPath: string) {
    super(`a peer is already running for this data directory (${socketPath})`);
    this.name = 'AlreadyRunningError';
  }
}

/** Longest path a Unix socket address can hold on Linux (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;

export interface ControlServerOptions {
  /** Maps an error a handler threw to the exit code the command should end with. */
  exitCodeOf: (err: unknown) => { message: string; exitCode: number };
}

export class ControlServer {
  private constructor(
    private readonly server: http.Server,
    readonly socketPath: string,
  ) {}

  /**
   * Listens on `socketPath` with `routes` (`'POST /backup'` → handler). `routes` may start
   * empty and be filled once the peer is up: listening first makes the socket the data
   * directory's lock, taken before anything else opens the directory's files.
   */
  static async listen(socketPath: string, routes: Record<string, ControlHandler>, options: ControlServerOptions): Promise<ControlServer> {
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      throw new Error(`the data directory path is too long for its control socket (${socketPath}); use a shorter --data path`);
    }
    await removeStaleSocket(socketPath);
    const server = http.createServer((req, res) => void handle(req, res, routes, options));
    // A job such as a restore can run for hours: no request timeout on a local socket.
    server.requestTimeout = 0;
    server.headersTimeout = HEADERS_TIMEOUT_MS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // 0600 from the first moment: the umask applies when the socket file is created.
      const oldMask = process.umask(0o177);
      try {
        server.listen(socketPath, () => {
          server.off('error', reject);
          resolve();
        });
      } finally {
        process.umask(oldMask);
      }
    });
    await fs.chmod(socketPath, 0o600);
    return new ControlServer(server, socketPath);
  }

  /** Stops accepting requests, ends open ones and removes the socket file. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await fs.rm(this.socketPath, { force: true });
  }
}

async function removeStaleSocket(socketPath: string): Promise<void> {
  try {
    await fs.lstat(socketPath);
  } catch {
    // No file (or none we may see): nothing stale to remove; listen() reports any real problem.
    return;
  }
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    // ECONNREFUSED (or the like): nobody listens, so the file is a dead peer's and may go.
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new AlreadyRunningError(socketPath);
  await fs.rm(socketPath, { force: true });
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, routes: Record<string, ControlHandler>, options: ControlServerOptions): Promise<void> {
  const send = (line: ControlLine) => {
    if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify(line)}\n`);
  };
  const route = `${req.method ?? ''} ${(req.url ?? '').split('?')[0]}`;
  const handler = Object.hasOwn(routes, route) ? routes[route] : undefined;
  if (!handler && Object.keys(routes).length === 0) {
    res.writeHead(503, { 'content-type': 'application/x-ndjson' });
    send({ error: { message: 'the peer is still starting; try again in a moment', exitCode: 3 } });
    res.end();
    return;
  }
  if (!handler) {
    res.writeHead(404, { 'content-type': 'application/x-ndjson' });
    send({ error: { message: `unknown control request ${route}`, exitCode: 2 } });
    res.end();
    return;
  }
  let body: Record<string, unknown>;
  try {
    body = await readJsonBody(req, MAX_REQUEST_BYTES);
  } catch (err) {
    res.writeHead(400, { 'content-type': 'application/x-ndjson' });
    send({ error: { message: (err as Error).message, exitCode: 2 } });
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  try {
    const result = await handler(body, (progress) => send({ progress }));
    send({ result: result ?? null });
  } catch (err) {
    send({ error: options.exitCodeOf(err) });
  }
  res.end();
}
