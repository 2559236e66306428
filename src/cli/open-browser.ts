/**
 * `dbs ui`: asks the running peer for the web page's address (with its token), prints it, and
 * opens it in the user's browser where the system has an opener (`xdg-open` on Linux, `open`
 * on macOS).
 */
import { spawn } from 'node:child_process';
import { CliError, ExitCode } from './errors.js';

type Address = { origin: string; url: string };

export async function showUi(opts: { open: boolean; json?: boolean }, ask: () => Promise<Address>, print: (r: Address) => void): Promise<void> {
  const r = await ask().catch((err: unknown) => {
    if (err instanceof CliError && /unknown control request/.test(err.message)) throw new CliError('the peer serves no web page: start it with `dbs start --ui`', ExitCode.notFound);
    throw err;
  });
  print(r);
  if (opts.open && !opts.json && !(await openBrowser(r.url))) process.stderr.write('dbs: no browser opener (xdg-open) found: open the address above yourself\n');
}

/** Resolves false when the system has no opener; the caller printed the address anyway. */
export function openBrowser(url: string): Promise<boolean> {
  const opener = process.platform === 'darwin' ? 'open' : 'xdg-open';
  return new Promise((resolve) => {
    const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}
