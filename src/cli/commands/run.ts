/**
 * The commands that run a process or end one: `dbs start` (a peer in the foreground), `dbs stop`,
 * `dbs tracker` and `dbs demo`. The peer (start.ts), the tracker and the demo are imported by
 * the action that runs them, never at start-up: `dbs status` must not pay for them.
 */
import { addKeepOptions, keepFlagsOf } from '../forget.js';
import { type Command, Option } from 'commander';
import { UI_DEFAULTS } from '../../ui/constants.js';
import { CLI_DEFAULTS } from '../defaults.js';
import type { StartOptions } from '../start.js';
import { parseUiAddress } from '../ui-address.js';
import { duration, schemeText, size, uiAddress, wholeNumber } from './arguments.js';
import { ask, type Common, dataDir, out, print, withCommon } from './common.js';

export function addStartCommand(program: Command): void {
  addKeepOptions(withCommon(program.command('start')))
    .description('run a peer in the foreground (Ctrl-C stops it cleanly)')
    .option('--host <host>', 'the IP address other peers reach this one at (default: listen on every interface, work out the address from what peers see, map the port on the router if it offers UPnP or NAT-PMP)', CLI_DEFAULTS.host)
    .option('--no-map-port', 'do not ask the router (UPnP, NAT-PMP) to forward the port')
    .option('--port <port>', 'UDP and TCP port (0: any free port)', wholeNumber, CLI_DEFAULTS.port)
    .option('--storage <size>', 'space offered to other peers, e.g. 10GiB (0 means you cannot back up)', size, CLI_DEFAULTS.storageBytes)
    .option('--bootstrap <host:port...>', 'peers to join through')
    .option('--friend <public-key...>', 'peers to keep our shards first, by public key (`dbs status` shows it): found wherever they are, even behind a home NAT')
    .option('--tracker <url>', 'an optional tracker to find bootstrap peers through')
    .option('--recover <key>', 'start with an existing recovery key (a new machine)')
    .option('--watch <dir...>', 'back up these folders whenever they change')
    .option('--quiet <duration>', 'how long a watched folder must stay unchanged before its backup', duration, CLI_DEFAULTS.quietMs)
    .option('--replicas <n>', 'replicas for watched folders', wholeNumber, CLI_DEFAULTS.replicas)
    .option('--erasure <K/N>', 'code watched folders\' shards into N pieces on N hosts, any K of which restore them (as dbs backup --erasure); replaces --replicas', schemeText)
    .option('--ui [host:port]', `serve the web page (default ${UI_DEFAULTS.host}:${UI_DEFAULTS.port}; \`dbs ui\` opens it)`, uiAddress)
    .option('--ui-allow-remote', 'let --ui bind an address other than loopback (anyone who can reach it and has the token controls this peer; see docs/ui.md)')
    .addOption(new Option('--tuning <json>', 'library settings for tests and the demo').hideHelp())
    .action(async (opts: Common & Omit<StartOptions, 'dataDir' | 'ui'> & { ui?: { host: string; port: number } | true; uiAllowRemote?: boolean }) => {
      const { runStart } = await import('../start.js');
      const keep = await keepFlagsOf(opts);
      const { ui, uiAllowRemote, ...rest } = opts;
      await runStart({ ...rest, ...(keep ? { keep } : {}), dataDir: dataDir(opts), ...(ui !== undefined ? { ui: { ...(ui === true ? parseUiAddress(true) : ui), allowRemote: uiAllowRemote ?? false } } : {}) }, out);
    });
}

export function addStopCommand(program: Command): void {
  withCommon(program.command('stop')).description('stop the running peer').action(async (opts: Common) => {
    const r = await ask(opts, 'POST', '/stop');
    print(opts, r, () => 'the peer is stopping');
  });
}

export function addTrackerCommand(program: Command): void {
  program
    .command('tracker')
    .description('run the optional HTTP tracker that helps peers find bootstrap contacts')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'TCP port', wholeNumber, CLI_DEFAULTS.trackerPort)
    .option('--debug', 'print stack traces of errors')
    .action(async (opts: { host: string; port: number }) => {
      const { TrackerServer } = await import('../../tracker/server.js');
      const tracker = await TrackerServer.listen({ host: opts.host, port: opts.port });
      out(`tracker listening on ${tracker.url} (POST /subscribe, GET /nodes, POST /ping)`);
      await new Promise<void>((resolve) => {
        const stop = () => void tracker.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}

export function addDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run ~8 peers as processes on 127.0.0.1: back up, kill two hosts, repair, restore, verify')
    .option('--peers <n>', 'how many peers', wholeNumber, CLI_DEFAULTS.demoPeers)
    .option('--keep', 'keep the temporary folder (logs, data) afterwards')
    .option('--debug', 'print stack traces of errors')
    .action(async (opts: { peers: number; keep?: boolean }) => {
      const { runDemo } = await import('../demo.js');
      await runDemo({ peers: opts.peers, keep: opts.keep ?? false, print: out });
    });
}
