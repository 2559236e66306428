/**
 * The peer's web page: an HTTP server (node:http) that serves the page's files and its JSON API
 * and live stream, behind the checks of security.ts. Loopback only unless `allowRemote`.
 *
 *   const ui = await UiServer.listen({ dataDir, routes: controlRoutes(peer, { dataDir }) });
 *   console.log(ui.url);   // http://127.0.0.1:7780/?token=...  (the first visit turns it into a cookie)
 *   await ui.close();
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import http from 'node:http';
import type { ControlHandler } from '../control/protocol.js';
import { SnapshotBrowseError } from '../backup/browse-errors.js';
import type { EventFeed } from '../control/event-feed.js';
import { readJsonBody } from '../util/json-body.js';
import { type Clock, systemClock } from '../util/clock.js';
import { apiRoutes, type ApiHandler } from './api.js';
import { type Assets, loadAssets } from './assets.js';
import { UI_DEFAULTS, cookieName } from './constants.js';
import { UiError } from './errors.js';
import { Jobs } from './jobs.js';
import { allowedHosts, authority, checkFetchSite, checkHost, checkStateChange, checkToken, isLoopback, presentedToken, securityHeaders } from './security.js';
import { EventStreams } from './sse.js';
import { loadOrCreateToken } from './token.js';

export interface UiServerOptions {
  /** The peer's data directory: the access token lives there (`ui-token`, 0600). */
  dataDir: string;
  /** The control routes (src/cli/control-routes.ts): the API calls these and nothing else. */
  routes: Record<string, ControlHandler>;
  /** Recent events, pushed live to open pages. */
  feed?: EventFeed;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 7780; 0 lets the system choose. */
  port?: number;
  /** Required to bind an address that is not loopback (docs/ui.md says what that exposes). */
  allowRemote?: boolean;
  /** How a failed route's error reads on the page; default: its message, exit code 1. */
  exitCodeOf?: (err: unknown) => { message: string; exitCode: number };
  clock?: Clock;
  /** ms between status pushes on the live stream. */
  statusIntervalMs?: number;
}

/** Without the daemon's mapping: an error's own `exitCode` (CliError), typed browse errors, else 1. */
function defaultExitCodeOf(err: unknown): { message: string; exitCode: number } {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof SnapshotBrowseError) return { message, exitCode: err.code === 'NOT_A_FOLDER' ? 2 : err.code === 'UNAVAILABLE' ? 1 : 4 };
  const code = (err as { exitCode?: unknown } | null)?.exitCode;
  return { message, exitCode: typeof code === 'number' ? code : 1 };
}

/** HTTP status for a control error's exit code (cli/errors.ts): usage → 400, not found → 404, the rest 409/500. */
function httpStatus(exitCode: number): number {
  return exitCode === 2 ? 400 : exitCode === 4 ? 404 : exitCode === 7 || exitCode === 3 ? 409 : 500;
}

export class UiServer {
  private constructor(
    private readonly server: http.Server,
    private readonly streams: EventStreams,
    private readonly unsubscribe: () => void,
    /** The address served. */
    readonly host: string,
    readonly port: number,
    /** The access token (also in `ui-token` in the data directory). */
    readonly token: string,
  ) {}

  /** http://host:port, the page's origin. */
  get origin(): string {
    return `http://${authority(this.host, this.port)}`;
  }

  /** The address to open: the first visit exchanges the token for a cookie and drops it from the URL. */
  get url(): string {
    return `${this.origin}/?token=${this.token}`;
  }

  static async listen(options: UiServerOptions): Promise<UiServer> {
    const host = options.host ?? UI_DEFAULTS.host;
    if (!isLoopback(host) && !options.allowRemote) {
      throw new UiError('REMOTE_NOT_ALLOWED', `${host} is not a loopback address: serving the page there needs --ui-allow-remote (read docs/ui.md first)`);
    }
    const token = await loadOrCreateToken(options.dataDir);
    const csrf = randomBytes(UI_DEFAULTS.tokenBytes).toString('hex');
    const assets = await loadAssets();
    const exitCodeOf = options.exitCodeOf ?? defaultExitCodeOf;
    const status = options.routes['GET /status'];
    const streams = new EventStreams({
      clock: options.clock ?? systemClock,
      maxStreams: UI_DEFAULTS.maxStreams,
      statusIntervalMs: options.statusIntervalMs ?? UI_DEFAULTS.statusIntervalMs,
      heartbeatMs: UI_DEFAULTS.heartbeatMs,
      status: async () => (status ? status({}, () => {}) : null),
    });
    const jobs = new Jobs(UI_DEFAULTS.jobsKept, (job) => streams.send('job', job), exitCodeOf);
    const api = apiRoutes({ routes: options.routes, jobs, csrf, pageSize: UI_DEFAULTS.pageSize, maxPageSize: UI_DEFAULTS.maxPageSize, overviewEvents: UI_DEFAULTS.overviewEvents });
    const unsubscribe = options.feed?.subscribe((e) => streams.send('event', e)) ?? (() => {});
    const server = http.createServer();
    server.headersTimeout = UI_DEFAULTS.headersTimeoutMs;
    // The live stream stays open as long as the page does.
    server.requestTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? UI_DEFAULTS.port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as { port: number }).port;
    const ui = new UiServer(server, streams, unsubscribe, host, port, token);
    const ctx: RequestContext = { token, csrf, assets, api, streams, exitCodeOf, cookie: cookieName(port), hosts: allowedHosts(host, port), headers: securityHeaders(assets.scriptHashes) };
    ctx.origins = new Set([...ctx.hosts].map((h) => `http://${h}`));
    server.on('request', (req, res) => void handle(req, res, ctx));
    return ui;
  }

  /** Ends the live streams and open requests, stops listening. */
  async close(): Promise<void> {
    this.unsubscribe();
    this.streams.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

interface RequestContext {
  token: string;
  csrf: string;
  assets: Assets;
  api: { get: Record<string, ApiHandler>; post: Record<string, ApiHandler> };
  streams: EventStreams;
  exitCodeOf: (err: unknown) => { message: string; exitCode: number };
  cookie: string;
  hosts: Set<string>;
  origins?: Set<string>;
  headers: Record<string, string>;
}

function sendJson(res: http.ServerResponse, ctx: RequestContext, status: number, body: unknown, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...ctx.headers, ...extra, 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, ctx: RequestContext): Promise<void> {
  try {
    checkHost(req.headers, ctx.hosts);
    checkFetchSite(req.headers);
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    if (method === 'GET' && url.pathname === '/' && url.searchParams.has('token')) {
      // The first visit: the token becomes an HttpOnly cookie and leaves the URL (and history).
      checkToken(url.searchParams.get('token'), ctx.token);
      res.writeHead(303, { ...ctx.headers, location: '/', 'set-cookie': `${ctx.cookie}=${ctx.token}; HttpOnly; SameSite=Strict; Path=/` });
      res.end();
      return;
    }
    checkToken(presentedToken(req.headers, ctx.cookie), ctx.token);
    if (method === 'GET') {
      if (url.pathname === '/') {
        res.writeHead(200, { ...ctx.headers, 'content-type': 'text/html; charset=utf-8' });
        res.end(ctx.assets.indexHtml);
        return;
      }
      if (url.pathname === '/api/stream') {
        ctx.streams.attach(res, ctx.headers);
        return;
      }
      const asset = ctx.assets.files.get(url.pathname);
      if (asset) {
        res.writeHead(200, { ...ctx.headers, 'content-type': asset.type });
        if (asset.body) res.end(asset.body);
        else createReadStream(asset.file).on('error', () => res.destroy()).pipe(res);
        return;
      }
      const handler = ctx.api.get[url.pathname];
      if (!handler) throw new UiError('NOT_FOUND', `no such page or API: ${url.pathname}`);
      const out = await handler(url.searchParams, {});
      sendJson(res, ctx, out.status ?? 200, out.body);
      return;
    }
    if (method === 'POST') {
      checkStateChange(req.headers, ctx.csrf, ctx.origins!);
      const handler = ctx.api.post[url.pathname];
      if (!handler) throw new UiError('NOT_FOUND', `no such action: ${url.pathname}`);
      let body: Record<string, unknown>;
      try {
        body = await readJsonBody(req, UI_DEFAULTS.maxBodyBytes);
      } catch (err) {
        throw new UiError('BAD_REQUEST', (err as Error).message);
      }
      const out = await handler(url.searchParams, body);
      sendJson(res, ctx, out.status ?? 200, out.body);
      return;
    }
    throw new UiError('BAD_REQUEST', `method ${method} is not served`);
  } catch (err) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof UiError) {
      sendJson(res, ctx, err.status, { error: { code: err.code, message: err.message } });
      return;
    }
    const e = ctx.exitCodeOf(err);
    sendJson(res, ctx, httpStatus(e.exitCode), { error: { code: 'PEER', message: e.message, exitCode: e.exitCode } });
  }
}
