/** `dbs start --ui [HOST:PORT]`: the address the web page is served at (pure; a leaf for main.ts). */
import { UI_DEFAULTS } from '../ui/constants.js';

/** `--ui [HOST:PORT]`: `HOST:PORT`, `[IPv6]:PORT`, `PORT` or `HOST`; what is left out is UI_DEFAULTS'. */
export function parseUiAddress(value: string | true): { host: string; port: number } {
  if (value === true) return { host: UI_DEFAULTS.host, port: UI_DEFAULTS.port };
  const bad = () => new RangeError(`"${value}" is not HOST:PORT, PORT or HOST`);
  let host: string = UI_DEFAULTS.host;
  let port: string | undefined;
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(value);
  if (v6) [host, port] = [v6[1]!, v6[2]];
  else if (/^\d+$/.test(value)) port = value;
  else if (/^[^:\s]+:\d+$/.test(value)) [host, port] = value.split(':') as [string, string];
  else if (/^[^:\s]+$/.test(value)) host = value;
  else throw bad();
  const n = port === undefined ? UI_DEFAULTS.port : Number(port);
  if (n > 65535) throw bad();
  return { host, port: n };
}
