/** Where a peer's files live when the user does not say (`--data`). */
import os from 'node:os';
import path from 'node:path';
import { CONTROL_SOCKET } from '../control/protocol.js';

/** `$DBS_DATA`, else `$XDG_DATA_HOME/dbs`, else `~/.local/share/dbs` (the user's data home). */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DBS_DATA) return path.resolve(env.DBS_DATA);
  const base = env.XDG_DATA_HOME ? path.resolve(env.XDG_DATA_HOME) : path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'dbs');
}

export function controlSocketPath(dataDir: string): string {
  return path.join(path.resolve(dataDir), CONTROL_SOCKET);
}
