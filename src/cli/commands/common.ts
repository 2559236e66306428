/**
 * What every client command shares: the common options (`--data`, `--json`, `--debug`), one
 * request to the running peer, and printing a result as JSON or as text for a person.
 *
 * A client command is one request to the running peer and a few lines of text, so this module
 * imports nothing heavy: node:http comes with control/client.js, imported by `ask` when a command
 * runs (main.ts explains the start-up budget).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { CliError, ExitCode, type ExitCodeValue } from '../errors.js';
import { controlSocketPath, defaultDataDir } from '../paths.js';

export interface Common {
  data?: string;
  json?: boolean;
  debug?: boolean;
}

export const out = (text: string) => process.stdout.write(`${text}\n`);

export function withCommon(cmd: Command): Command {
  return cmd
    .option('--data <dir>', 'the peer\'s data directory (default: $DBS_DATA or ~/.local/share/dbs)')
    .option('--json', 'print the result as JSON')
    .option('--debug', 'print stack traces of errors');
}

export function dataDir(opts: Common): string {
  return path.resolve(opts.data ?? defaultDataDir());
}

/** One request to the running peer of `opts.data`. */
export async function ask<T>(opts: Common, method: 'GET' | 'POST', route: string, body?: unknown, onProgress?: (p: unknown) => void): Promise<T> {
  const dir = dataDir(opts);
  // node:http comes with the client: `dbs key` and `--help` do without it.
  const { controlRequest, ControlError, NoPeerError } = await import('../../control/client.js');
  try {
    return await controlRequest<T>(controlSocketPath(dir), method, route, body, onProgress);
  } catch (err) {
    if (err instanceof NoPeerError) throw new CliError(`no peer is running for ${dir} (start one with: dbs start --data ${dir})`, ExitCode.noPeer);
    if (err instanceof ControlError) throw new CliError(err.message, err.exitCode as ExitCodeValue);
    throw err;
  }
}

export function print(opts: Common, value: unknown, human: () => string): void {
  out(opts.json ? JSON.stringify(value, null, 2) : human());
}
