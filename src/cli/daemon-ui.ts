/**
 * The daemon's web page (`dbs start --ui [HOST:PORT]`): the UiServer over the daemon's own
 * control routes, a log line with its address, and the `GET /ui` control route that `dbs ui`
 * asks for the address with the token (the control socket is the owner's alone).
 */
import type { ControlHandler } from '../control/protocol.js';
import type { EventFeed } from '../control/event-feed.js';
import { UiServer } from '../ui/server.js';
import { CliError, ExitCode } from './errors.js';
import type { PeerLog } from './log.js';

export interface DaemonUiOptions {
  host: string;
  port: number;
  /** `--ui-allow-remote`: serve a non-loopback address. */
  allowRemote: boolean;
}

/** Starts the page; returns its stop function. */
export async function startDaemonUi(
  options: DaemonUiOptions,
  ctx: { dataDir: string; routes: Record<string, ControlHandler>; feed: EventFeed; log: PeerLog; exitCodeOf: (err: unknown) => { message: string; exitCode: number } },
): Promise<() => Promise<void>> {
  const ui = await UiServer.listen({ dataDir: ctx.dataDir, routes: ctx.routes, feed: ctx.feed, host: options.host, port: options.port, allowRemote: options.allowRemote, exitCodeOf: ctx.exitCodeOf }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE') throw new CliError(`--ui: port ${options.port} is already in use on ${options.host}; choose another with --ui HOST:PORT`, ExitCode.usage);
    throw err;
  });
  ctx.routes['GET /ui'] = async () => ({ origin: ui.origin, url: ui.url });
  ctx.log.info('ui', { origin: ui.origin }, `web page at ${ui.origin} (\`dbs ui\` opens it with its access token)`);
  return async () => {
    delete ctx.routes['GET /ui'];
    await ui.close();
  };
}
