/** `dbs ui`: the web page's address with its token, opened in a browser (open-browser.ts, imported when it runs). */
import type { Command } from 'commander';
import { ask, type Common, print, withCommon } from './common.js';

export function addUiCommand(program: Command): void {
  withCommon(program.command('ui'))
    .description('print the web page\'s address with its access token, and open it in a browser')
    .option('--no-open', 'only print the address')
    .action(async (opts: Common & { open: boolean }) => {
      const { showUi } = await import('../open-browser.js');
      await showUi(opts, () => ask<{ origin: string; url: string }>(opts, 'GET', '/ui'), (r) => print(opts, r, () => r.url));
    });
}
