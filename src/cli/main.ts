#!/usr/bin/env -S node --max-semi-space-size=1 --heap-growing-percent=50
/**
 * `dbs`: the command line. `dbs start` runs a peer in the foreground; the other commands talk
 * to it over the control socket in its data directory. Errors are one line and an exit code
 * (see errors.ts); `--debug` adds the stack trace. The commands themselves are in commands/*.ts.
 */
import { promises as fs } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { addSnapshotCommands } from './commands/backup.js';
import { addKeyCommand } from './commands/key.js';
import { addPeerCommands } from './commands/peer.js';
import { addDemoCommand, addStartCommand, addStopCommand, addTrackerCommand } from './commands/run.js';
import { addUiCommand } from './commands/ui.js';
import { classify, ExitCode } from './errors.js';

// Only what the client commands need is imported here: a command is one request to the
// running peer (control/client.js, imported by `ask` in commands/common.ts) and a few lines of
// text. The peer with its database and cryptography (start.ts), the tracker, the demo and the
// progress bar are imported by the commands that run them (commands/run.ts, commands/backup.ts),
// so that `dbs status` starts in under twice the time node itself takes (docs/benchmarks.md,
// "CLI start-up"). Type-only imports cost nothing.

/** The commands, by group (src/cli/commands/*), in the order `dbs --help` lists them. */
export function buildProgram(): Command {
  const program = new Command('dbs')
    .description('Peer-to-peer backup: keep your files on your friends\' disks, encrypted, and theirs on yours.')
    .version('0.1.0')
    .showHelpAfterError('(run `dbs --help` for usage)')
    .exitOverride();
  addStartCommand(program);
  addSnapshotCommands(program);
  addPeerCommands(program);
  addKeyCommand(program);
  addUiCommand(program);
  addStopCommand(program);
  addTrackerCommand(program);
  addDemoCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv);
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its message (or the help / version).
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
      return ExitCode.usage;
    }
    const e = classify(err);
    process.stderr.write(`dbs: ${e.message}\n`);
    if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return e.exitCode;
  }
}

// Run when executed (also through the npm bin symlink), not when imported by tests.
// A script path that cannot be resolved (deleted since, or not a file) is compared as given.
const invoked = process.argv[1] ? await fs.realpath(process.argv[1]).catch(() => process.argv[1]) : '';
if (invoked === new URL(import.meta.url).pathname) {
  process.exitCode = await main(process.argv);
}
