/**
 * The web page in a real browser (the system's headless Chromium, driven by playwright-core)
 * against a real network: four `dbs start` processes on 127.0.0.1, the first serving the page
 * (`--ui 127.0.0.1:0`) and watching a folder. The page shows the peer's real figures, runs a
 * backup whose snapshot appears without a reload, browses the snapshot, restores a file, and
 * shows a killed host as failing after a check. Every request the page makes is recorded: all
 * go to its own origin. Skips, saying why, where there is no chromium (.ci/run installs it).
 */
import { expect } from 'chai';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { DEMO_TUNING, startPeerProcess, stopPeerProcess } from '../src/cli/demo.js';
import { controlRequest } from '../src/control/client.js';
import { controlSocketPath } from '../src/cli/paths.js';
import type { PeerStatus } from '../src/peer/peer.js';
import { dbs } from './helpers/cli.js';
import { browserMissing, launchBrowser } from './helpers/browser.js';
import { tempDir } from './helpers/peers.js';

type PeerProc = Awaited<ReturnType<typeof startPeerProcess>>;
const ARGS = ['--host', '127.0.0.1', '--port', '0', '--storage', '256MiB', '--tuning', JSON.stringify(DEMO_TUNING)];

describe('ui: the web page in headless Chromium against running peers', function () {
  this.timeout(60_000);
  const work = tempDir('dbs-ui-browser-');
  const source = path.join(work, 'source');
  const peers: PeerProc[] = [];
  const requests: string[] = [];
  let browser: Browser | null = null;
  let page: Page;
  let origin = '';
  let tokenUrl = '';

  before(async function () {
    const missing = browserMissing();
    if (missing) {
      console.log(`    skipped: ${missing}`);
      this.skip();
    }
    this.timeout(60_000);
    mkdirSync(path.join(source, 'docs', 'notes'), { recursive: true });
    writeFileSync(path.join(source, 'docs', 'notes', 'todo.txt'), 'water the plants\n');
    writeFileSync(path.join(source, 'docs', 'report.bin'), Buffer.alloc(200_000, 7));
    writeFileSync(path.join(source, 'top.txt'), 'top\n');
    // A watched folder that waits an hour after a change: listed, never run during the test.
    mkdirSync(path.join(work, 'watched'));
    peers.push(await startPeerProcess('p1', path.join(work, 'p1'), [...ARGS, '--ui', '127.0.0.1:0', '--watch', path.join(work, 'watched'), '--quiet', '1h']));
    peers.push(...(await Promise.all([2, 3, 4].map((i) => startPeerProcess(`p${i}`, path.join(work, `p${i}`), [...ARGS, '--bootstrap', peers[0]!.address])))));
    const ui = await dbs(['ui', '--no-open', '--json', '--data', peers[0]!.dataDir]);
    expect(ui.code, ui.stderr).to.equal(0);
    const { url } = JSON.parse(ui.stdout) as { url: string };
    origin = new URL(url).origin;
    tokenUrl = url;
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(url);
    // The token went into a cookie and out of the URL.
    expect(page.url()).to.equal(`${origin}/`);
    await page.evaluate("window.notReloaded = true");
  });

  after(async function () {
    this.timeout(30_000);
    await browser?.close();
    await Promise.all(peers.map(stopPeerProcess));
    rmSync(work, { recursive: true, force: true });
  });

  const status = () => controlRequest<PeerStatus & { uptimeMs: number; version: string }>(controlSocketPath(peers[0]!.dataDir), 'GET', '/status');

  it('the overview shows the peer\'s real figures, live', async () => {
    await page.waitForSelector('[data-link=live]');
    const s = await status();
    expect(await page.textContent('[data-field=fingerprint]')).to.equal(s.publicKey.slice(0, 16).match(/.{4}/g)!.join(' '));
    expect(await page.getAttribute('[data-field=fingerprint]', 'title')).to.equal(s.publicKey);
    expect(await page.textContent('[data-field=address]')).to.contain(peers[0]!.address);
    expect(await page.textContent('[data-field=version]')).to.equal(s.version);
    expect(await page.textContent('[data-field=contacts]')).to.equal(String(s.dht.contacts));
    expect(await page.textContent('[data-field=storage]')).to.contain('256.0 MiB offered');
    expect(await page.textContent('[data-field=last-backup]')).to.contain('No backup yet');
    // The first screen came from one answer, the one index.html preloaded (not fetched twice).
    expect(await page.evaluate("performance.getEntriesByName(location.origin + '/api/overview').length")).to.equal(1);
  });

  it('a backup started from the page completes and its snapshot appears without a reload', async () => {
    await page.click('[data-page=backups]');
    await page.fill('[data-form=backup] input[name=path]', source);
    await page.fill('[data-form=backup] input[name=replicas]', '3');
    await page.click('[data-form=backup] button[type=submit]');
    await page.waitForSelector('[data-list=jobs] li[data-state=done]', { timeout: 30_000 });
    const snapshots = await controlRequest<Array<{ id: string }>>(controlSocketPath(peers[0]!.dataDir), 'GET', '/snapshots');
    expect(snapshots).to.have.length(1);
    await page.waitForSelector(`[data-list=snapshots] tr[data-snapshot="${snapshots[0]!.id}"]`);
    // What the backup added and how long it took, recorded with the snapshot (the chart's figures).
    expect(await page.textContent(`tr[data-snapshot="${snapshots[0]!.id}"] [data-field=took]`)).to.match(/^\d+(\.\d)? s$/);
    expect(await page.textContent(`tr[data-snapshot="${snapshots[0]!.id}"] [data-field=added]`)).to.match(/KiB$/);
    expect(await page.evaluate("window.notReloaded")).to.equal(true);
    expect(await page.textContent('[data-list=watches]')).to.contain(path.join(work, 'watched')).and.contain('1 h 0 min quiet').and.contain('never');
  });

  it('the tree browser lists a snapshot\'s folders', async () => {
    await page.click('[data-list=snapshots] tr:first-child [data-action=browse]');
    await page.waitForSelector('[data-list=entries] tr[data-entry="docs"]');
    const names = async () => page.$$eval('[data-list=entries] tbody tr', (rows) => rows.map((r) => r.getAttribute('data-entry')));
    expect(await names()).to.deep.equal(['docs', 'top.txt']);
    await page.click('[data-entry="docs"] a.dir');
    await page.waitForSelector('[data-list=entries] tr[data-entry="docs/notes"]');
    expect(await names()).to.deep.equal(['docs/notes', 'docs/report.bin']);
    await page.click('[data-entry="docs/notes"] a.dir');
    await page.waitForSelector('[data-list=entries] tr[data-entry="docs/notes/todo.txt"]');
  });

  it('a restore from the page writes the file', async () => {
    const dest = path.join(work, 'restored');
    await page.click('[data-entry="docs/notes/todo.txt"] [data-action=restore]');
    await page.fill('[data-form=restore] input[name=dest]', dest);
    await page.click('[data-form=restore] button[type=submit]');
    await page.waitForSelector('[data-list=jobs] li[data-state=done]:has-text("restore")', { timeout: 30_000 });
    expect(readFileSync(path.join(dest, 'docs', 'notes', 'todo.txt'), 'utf8')).to.equal('water the plants\n');
  });

  it('forget from the page shows the plan, then removes the snapshot from the list without a reload; prune reports', async () => {
    const ask = <T>(method: 'GET' | 'POST', route: string) => controlRequest<T>(controlSocketPath(peers[0]!.dataDir), method, route);
    // A second snapshot of the same folder (from the page: the list follows its jobs).
    await page.click('[data-form=backup] button[type=submit]');
    await page.locator('[data-list=jobs] li[data-kind=backup][data-state=done]').nth(1).waitFor({ timeout: 30_000 });
    const [newer, older] = await ask<Array<{ id: string }>>('GET', '/snapshots');
    expect(older, 'two snapshots').to.not.equal(undefined);
    await page.waitForSelector(`[data-list=snapshots] tr[data-snapshot="${newer!.id}"]`);
    await page.fill('[data-form=forget] input[name=keep-last]', '1');
    await page.click('[data-form=forget] button[type=submit]');
    await page.waitForSelector('[data-field=forget-plan]');
    // The plan first: nothing is removed yet.
    expect(await page.$$eval('[data-plan-remove]', (rows) => rows.map((r) => r.getAttribute('data-plan-remove')))).to.deep.equal([older!.id]);
    expect(await page.$$eval('[data-plan-keep]', (rows) => rows.map((r) => r.getAttribute('data-plan-keep')))).to.deep.equal([newer!.id]);
    expect(await ask<unknown[]>('GET', '/snapshots')).to.have.length(2);
    await page.click('[data-action=forget-apply]');
    await page.waitForSelector(`[data-list=snapshots] tr[data-snapshot="${older!.id}"]`, { state: 'detached', timeout: 30_000 });
    expect(await page.$$eval('[data-list=snapshots] tbody tr', (rows) => rows.map((r) => r.getAttribute('data-snapshot')))).to.deep.equal([newer!.id]);
    // Its files were shown (the tree browser test opened it): that view closed with it.
    expect(await page.$('[data-card=tree]')).to.equal(null);
    expect((await ask<Array<{ id: string }>>('GET', '/snapshots')).map((s) => s.id)).to.deep.equal([newer!.id]);
    expect(await page.textContent('[data-list=jobs] li[data-kind=forget]')).to.contain('removed 1 snapshot(s)');
    expect(await page.evaluate("window.notReloaded")).to.equal(true);

    await page.click('[data-action=prune-dry]');
    await page.waitForSelector('[data-field=prune-report][data-state=done]', { timeout: 30_000 });
    expect(await page.textContent('[data-field=prune-report]')).to.contain('dry run: nothing changed').and.match(/would remove \d+ unused shard/);
    await page.click('[data-action=prune]');
    await page.locator('[data-list=jobs] li[data-kind=prune][data-state=done]').nth(1).waitFor({ timeout: 30_000 });
    expect(await page.textContent('[data-field=prune-report]')).to.match(/shard\(s\) removed, \d+ contract\(s\) cancelled/);
  });

  it('a killed host shows as failing after "Check now"', async () => {
    const victim = peers[3]!;
    victim.child.kill('SIGKILL');
    await stopPeerProcess(victim);
    await page.click('[data-action=check]');
    await page.waitForSelector('[data-list=jobs] li[data-state=done]:has-text("check")', { timeout: 30_000 });
    await page.click('[data-page=hosts]');
    await page.waitForSelector(`[data-list=hosts] tr[data-host="${victim.publicKey}"][data-health=failing]`);
    const healthy = await page.$$eval('[data-list=hosts] tr[data-health=ok]', (rows) => rows.map((r) => r.getAttribute('data-host')));
    expect(healthy).to.include.members([peers[1]!.publicKey, peers[2]!.publicKey]);
  });

  it('dbs ui says so when the peer serves no page; --ui on a non-loopback address needs --ui-allow-remote', async () => {
    const none = await dbs(['ui', '--no-open', '--data', peers[1]!.dataDir]);
    expect(none.code).to.equal(4);
    expect(none.stderr.trim()).to.equal('dbs: the peer serves no web page: start it with `dbs start --ui`');
    const remote = await dbs(['start', '--data', path.join(work, 'remote'), ...ARGS, '--ui', '0.0.0.0:0']);
    expect(remote.code).to.equal(2);
    expect(remote.stderr).to.match(/^dbs: 0\.0\.0\.0 is not a loopback address: serving the page there needs --ui-allow-remote/);
  });

  it('opens straight on another page: its module is imported on the first visit', async () => {
    const context = await browser!.newContext();
    const other = await context.newPage();
    other.on('request', (r) => requests.push(r.url()));
    try {
      // The fragment survives the token's 303 to /.
      await other.goto(`${tokenUrl}#hosts`);
      await other.waitForSelector('[data-view=hosts] [data-list=hosts] tr[data-health]');
      expect(other.url()).to.equal(`${origin}/#hosts`);
    } finally {
      await context.close();
    }
  });

  it('every request the page made went to its own origin', () => {
    expect(requests.length).to.be.greaterThan(10);
    expect(requests.filter((u) => !u.startsWith(`${origin}/`))).to.deep.equal([]);
  });
});
