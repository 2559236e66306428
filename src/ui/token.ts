/**
 * The web page's access token: 32 random bytes in hex in `ui-token` in the data directory,
 * mode 0600, made once and kept (a bookmark keeps working across restarts; `dbs ui` prints it).
 * Delete the file to change it.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UI_DEFAULTS } from './constants.js';

const TOKEN = /^[0-9a-f]{32,128}$/;

export async function loadOrCreateToken(dataDir: string, file: string = UI_DEFAULTS.tokenFile): Promise<string> {
  const p = path.join(dataDir, file);
  try {
    const text = (await fs.readFile(p, 'utf8')).trim();
    if (!TOKEN.test(text)) throw new Error(`${p} does not hold a token (hex); delete it to make a new one`);
    // Someone loosened it: tighten, as the identity file is.
    if (((await fs.stat(p)).mode & 0o077) !== 0) await fs.chmod(p, 0o600);
    return text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(UI_DEFAULTS.tokenBytes).toString('hex');
  // 'wx': two starts racing cannot both write; the loser reads the winner's token.
  try {
    await fs.writeFile(p, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateToken(dataDir, file);
    throw err;
  }
  return token;
}
