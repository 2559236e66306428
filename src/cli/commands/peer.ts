/**
 * The commands that ask the running peer about itself and its network: `dbs status`, `peers`,
 * `contracts`, `ledger`, `check`, `lookup` and `watch`. Each is one request and a few lines of
 * text (render.ts).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { addKeepOptions, keepFlagsOf } from '../forget.js';
import { CLI_DEFAULTS } from '../defaults.js';
import { renderContracts, renderLedger, renderStatus, table } from '../render.js';
import { formatBytes, formatDuration } from '../units.js';
import { duration, schemeText, wholeNumber } from './arguments.js';
import { ask, type Common, print, withCommon } from './common.js';

/** In the order `dbs --help` lists them. */
export function addPeerCommands(program: Command): void {
  withCommon(program.command('status')).description('what the running peer is doing').action(async (opts: Common) => {
    const status = await ask<Parameters<typeof renderStatus>[0]>(opts, 'GET', '/status');
    print(opts, status, () => renderStatus(status));
  });

  withCommon(program.command('peers')).description('the peers this one knows and how each is reached (direct, punched through a NAT)').action(async (opts: Common) => {
    const list = await ask<Array<{ nodeId: string; address: string; how: string }>>(opts, 'GET', '/peers');
    print(opts, list, () => (list.length ? table(['NODE ID', 'ADDRESS', 'REACHED'], list.map((p) => [p.nodeId, p.address, p.how])) : 'no peers known yet'));
  });

  withCommon(program.command('contracts')).description('storage contracts, as owner and as host').action(async (opts: Common) => {
    const list = await ask<Parameters<typeof renderContracts>[0]>(opts, 'GET', '/contracts');
    print(opts, list, () => renderContracts(list));
  });

  withCommon(program.command('ledger')).description('what each counterpart keeps for us and we for it').action(async (opts: Common) => {
    const list = await ask<Parameters<typeof renderLedger>[0]>(opts, 'GET', '/ledger');
    print(opts, list, () => renderLedger(list));
  });

  withCommon(program.command('check')).description('audit every host of our backups now, and repair what failed').action(async (opts: Common) => {
    const r = await ask<{ audited: number; failed: number; cancelled: number; replaced: number; repairDownloadedBytes?: number; repairUploadedBytes?: number }>(opts, 'POST', '/check');
    const moved = r.replaced > 0 ? ` (repair downloaded ${formatBytes(r.repairDownloadedBytes ?? 0)}, uploaded ${formatBytes(r.repairUploadedBytes ?? 0)})` : '';
    print(opts, r, () => `audited ${r.audited} contract(s): ${r.failed} failed, ${r.cancelled} cancelled, ${r.replaced} replica(s) or piece(s) re-created${moved}`);
  });

  withCommon(program.command('lookup <id>'))
    .description('find a node ID (40 hex) in the DHT, or a peer by its public key (64 hex)')
    .action(async (id: string, opts: Common) => {
      const r = await ask<Record<string, unknown>>(opts, 'POST', '/lookup', { id });
      print(opts, r, () => {
        if (r.kind === 'peer') return `peer ${String(r.publicKey)} is at ${String(r.host)}:${String(r.port)} (${r.verified ? 'answered HELLO with that key' : 'did not answer HELLO'}); offers ${formatBytes(Number(r.offered))}, ${formatBytes(Number(r.free))} free`;
        const closest = r.closest as Array<{ nodeId: string; address: string }>;
        return `${closest.length} closest nodes to ${String(r.target)} (${String(r.rounds)} rounds, ${String(r.messages)} queries):\n${table(['NODE ID', 'ADDRESS'], closest.map((c) => [c.nodeId, c.address]))}`;
      });
    });

  addKeepOptions(withCommon(program.command('watch <dir>')))
    .description('have the running peer back up a folder whenever it changes')
    .option('--quiet <duration>', 'how long the folder must stay unchanged first', duration, CLI_DEFAULTS.quietMs)
    .option('--replicas <n>', 'how many hosts keep each shard (default: what dbs start was given)', wholeNumber)
    .option('--erasure <K/N>', 'code each shard into N pieces on N hosts, any K of which restore it; replaces --replicas', schemeText)
    .action(async (dir: string, opts: Common & { quiet: number; replicas?: number; erasure?: string }) => {
      const keep = await keepFlagsOf(opts);
      const scheme = { ...(opts.replicas !== undefined ? { replicas: opts.replicas } : {}), ...(opts.erasure ? { erasure: opts.erasure } : {}) };
      const r = await ask<{ watching: string; already: boolean; scheme?: string }>(opts, 'POST', '/watch', { path: path.resolve(dir), quietMs: opts.quiet, ...scheme, ...(keep ? { keep } : {}) });
      print(opts, r, () => (r.already ? `already watching ${r.watching}` : `watching ${r.watching}: it is backed up ${formatDuration(opts.quiet)} after changes stop${r.scheme ? ` (${r.scheme})` : ''}`));
    });
}
