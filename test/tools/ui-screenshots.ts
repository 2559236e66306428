/**
 * `npm run ui:screenshots`: a screenshot of each page of the web UI into docs/ui/*.png, taken
 * in headless Chromium against a real little network (five `dbs start` processes on 127.0.0.1):
 * the first backs up a folder twice (once tagged), restores a file, runs a prune dry run and
 * shows a forget plan; another backs up onto it (so it has guests); one host is killed and a
 * check finds it failing.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_TUNING, startPeerProcess, stopPeerProcess } from '../../src/cli/demo.js';
import { controlRequest } from '../../src/control/client.js';
import { controlSocketPath } from '../../src/cli/paths.js';
import { browserMissing, launchBrowser } from '../helpers/browser.js';
import { makeSampleTree } from '../helpers/trees.js';

const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/ui');
const ARGS = ['--host', '127.0.0.1', '--port', '0', '--storage', '256MiB', '--tuning', JSON.stringify(DEMO_TUNING)];

const missing = browserMissing();
if (missing) {
  console.error(`ui:screenshots: ${missing}`);
  process.exit(1);
}
const work = mkdtempSync(path.join(os.tmpdir(), 'dbs-ui-shots-'));
const peers: Awaited<ReturnType<typeof startPeerProcess>>[] = [];
const browser = await launchBrowser();
try {
  peers.push(await startPeerProcess('p1', path.join(work, 'p1'), [...ARGS, '--ui', '127.0.0.1:0']));
  peers.push(...(await Promise.all([2, 3, 4, 5].map((i) => startPeerProcess(`p${i}`, path.join(work, `p${i}`), [...ARGS, '--bootstrap', peers[0]!.address])))));
  const ask = <T>(i: number, method: 'GET' | 'POST', route: string, body?: unknown) => controlRequest<T>(controlSocketPath(peers[i]!.dataDir), method, route, body);
  const docs = path.join(work, 'Documents');
  mkdirSync(docs);
  makeSampleTree(docs, 2);
  await ask(0, 'POST', '/backup', { path: docs, replicas: 3, tags: ['daily'] });
  const theirs = path.join(work, 'Photos');
  mkdirSync(theirs);
  makeSampleTree(theirs, 3);

  const { url } = await ask<{ url: string }>(0, 'GET', '/ui');
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(url);
  await page.waitForSelector('[data-link=live]');
  await new Promise((r) => setTimeout(r, 4000));
  // Traffic both ways for the live chart: a second backup of ours (upload) while another peer
  // backs up onto this one (download).
  writeFileSync(path.join(docs, 'notes-2026.bin'), Buffer.alloc(3 * 2 ** 20, 1).map((_, i) => (i * 2654435761) >>> 24));
  await Promise.all([ask(0, 'POST', '/backup', { path: docs, replicas: 3 }), ask(1, 'POST', '/backup', { path: theirs, replicas: 3 })]);
  await new Promise((r) => setTimeout(r, 7000));
  await page.screenshot({ path: path.join(OUT, 'overview.png'), fullPage: true });

  await page.click('[data-page=backups]');
  await page.waitForSelector('[data-list=snapshots] tbody tr');
  await page.click('[data-list=snapshots] tr:first-child [data-action=browse]');
  await page.waitForSelector('[data-list=entries] tbody tr');
  const firstDir = await page.$('[data-list=entries] a.dir');
  if (firstDir) await firstDir.click();
  await page.waitForTimeout(500);
  await page.click('[data-list=entries] tbody tr:last-child [data-action=restore]');
  await page.fill('[data-form=restore] input[name=dest]', path.join(work, 'restored'));
  await page.click('[data-form=restore] button[type=submit]');
  await page.waitForSelector('[data-list=jobs] li[data-state=done]');
  // A prune dry run's report, and the plan of a forget that keeps the newest snapshot.
  await page.click('[data-action=prune-dry]');
  await page.waitForSelector('[data-field=prune-report][data-state=done]', { timeout: 30_000 });
  await page.fill('[data-form=forget] input[name=keep-last]', '1');
  await page.click('[data-form=forget] button[type=submit]');
  await page.waitForSelector('[data-field=forget-plan]');
  await page.waitForTimeout(500);
  await page.screenshot({ path: path.join(OUT, 'backups.png'), fullPage: true });

  peers[4]!.child.kill('SIGKILL');
  await stopPeerProcess(peers[4]!);
  await page.click('[data-action=check]');
  await page.waitForSelector('[data-list=jobs] li[data-state=done]:has-text("check")', { timeout: 30_000 });
  await page.click('[data-page=hosts]');
  await page.waitForSelector('[data-list=hosts] tr[data-health=failing]');
  await page.screenshot({ path: path.join(OUT, 'hosts.png'), fullPage: true });

  await page.click('[data-page=guests]');
  await page.waitForSelector('[data-list=guests] tbody tr');
  await page.screenshot({ path: path.join(OUT, 'guests.png'), fullPage: true });
  console.log(`screenshots in ${OUT}: overview.png backups.png hosts.png guests.png`);
} finally {
  await browser.close();
  await Promise.all(peers.map(stopPeerProcess));
  rmSync(work, { recursive: true, force: true });
}
