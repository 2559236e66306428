/**
 * `dbs key`: prints the recovery key from the data directory. It works without a running peer
 * and reads the file without loading the key's cryptography (identity-file.ts).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { IDENTITY_FILE } from '../../identity/identity-file.js';
import { CliError, ExitCode } from '../errors.js';
import { type Common, dataDir, print, withCommon } from './common.js';

export function addKeyCommand(program: Command): void {
  withCommon(program.command('key')).description('print the recovery key (works without a running peer)').action(async (opts: Common) => {
    const dir = dataDir(opts);
    let text: string;
    try {
      text = (await fs.readFile(path.join(dir, IDENTITY_FILE), 'utf8')).trim();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err; // EACCES and the like: say so, not "no identity"
      throw new CliError(`no identity in ${dir} (\`dbs start --data ${dir}\` creates one)`, ExitCode.notFound);
    }
    print(opts, { recoveryKey: text }, () => `${text}\n\nAnyone with this key can read and delete your backups; without it, nobody can restore them. Keep it offline.`);
  });
}
