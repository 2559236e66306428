/**
 * The web page at scale: 1,000 snapshots and 10,000 contracts (synthetic, served through the
 * real API layer: UiServer over control-route handlers that answer from arrays), the overview's
 * time to interactive in headless Chromium, the answer time of each list the pages ask for, and
 * what an open page costs the process serving it in memory.
 *
 *   node --expose-gc dist/bench/ui.js [--loads 5] [--open-s 10] [--write]
 *
 * Time to interactive: from the navigation's start (the token URL, its 303 and the page) until
 * the overview shows every card with data and the live stream is open: the later of the page's
 * own performance marks `dbs-overview-ready` and `dbs-live`, in `--loads` fresh browser contexts. Memory: heap + external (after a full GC) and RSS of this
 * process before the page opens and after it has been open `--open-s` seconds (status pushed
 * every 2 s). `--write` replaces the "ui" section of docs/benchmarks.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ControlHandler } from '../src/control/protocol.js';
import { EventFeed } from '../src/control/event-feed.js';
import { UiServer } from '../src/ui/server.js';
import { cookieName } from '../src/ui/constants.js';
import { browserMissing, launchBrowser } from '../test/helpers/browser.js';
import { fixed, intFlag, machineLines, markdownTable, median, parseFlags, writeSection } from './common.js';
import { measureContractStore } from './ui-store.js';

const flags = parseFlags(process.argv.slice(2), ['loads', 'open-s', 'write']);
const loads = intFlag(flags, 'loads', 5);
const openS = intFlag(flags, 'open-s', 10);
const SNAPSHOTS = 1000;
const CONTRACTS = 10_000;
/** Counterparts the contracts are spread over (a large friends' network). */
const COUNTERPARTS = 200;

const missing = browserMissing();
if (missing) {
  console.error(`bench:ui: ${missing}`);
  process.exit(1);
}

const hex = (n: number, len: number) => n.toString(16).padStart(len, '0');
const now = Date.now();
const snapshots = Array.from({ length: SNAPSHOTS }, (_, i) => ({ id: `2026${hex(i, 8)}Z-${hex(i, 6)}`, createdAt: now - i * 3_600_000, source: '/home/me/Documents', files: 10_000 + i, bytes: 2 ** 30 + i * 2 ** 20 }));
const contracts = Array.from({ length: CONTRACTS }, (_, i) => ({
  id: hex(i, 64), role: i % 2 === 0 ? 'owner' : 'host', counterpart: hex(i % COUNTERPARTS, 64), counterpartAddress: `10.0.${(i % COUNTERPARTS) >> 8}.${i % 256}:7001`,
  shardHash: hex(Math.floor(i / 6), 64), size: 16 * 2 ** 20, state: 'active', createdAt: now - i * 1000, expiresAt: now + 30 * 86_400_000,
}));
const ledger = Array.from({ length: COUNTERPARTS }, (_, i) => ({ counterpart: hex(i, 64), lastAddress: `10.0.0.${i}:7001`, keptForThem: 25 * 16 * 2 ** 20, keptByThem: 25 * 16 * 2 ** 20, strikes: i % 50 === 0 ? 1 : 0, defaulterSince: null }));
const owned = contracts.filter((c) => c.role === 'owner');
const shards = Array.from({ length: owned.length / 3 }, (_, i) => ({
  hash: hex(i, 64), kind: 'data', size: 16 * 2 ** 20, wanted: 3, live: 3, localCopy: false,
  replicas: owned.slice(i * 3, i * 3 + 3).map((c) => ({ contract: c.id, host: c.counterpart, address: c.counterpartAddress, state: 'active', lastAuditAt: now - 60_000, unreachableSince: null })),
}));
const audits = owned.map((c) => ({ contract: c.id, lastAuditAt: now - 60_000, unreachableSince: null }));
const feed = new EventFeed();
for (let i = 0; i < 200; i++) feed.push('info', 'stored', `stored a 16 MiB shard for ${hex(i, 8)}`);
const started = Date.now();
const status = () => ({
  publicKey: hex(1, 64), nodeId: hex(2, 40), address: '127.0.0.1:7001', storage: { offered: 2 ** 40, promised: 2 ** 39, free: 2 ** 39 },
  contracts: { owner: owned.length, host: CONTRACTS - owned.length }, dht: { contacts: 160, values: 300, valueBytes: 90_000 },
  transfer: { bytesIn: (Date.now() - started) * 1000, bytesOut: 0 }, traffic: { sent: (Date.now() - started) * 500, received: 0 }, dataDir: '/var/lib/dbs', uptimeMs: Date.now() - started, pid: process.pid, version: '0.1.0',
});
const answer = (value: () => unknown): ControlHandler => async () => value();
const routes: Record<string, ControlHandler> = {
  'GET /status': answer(status), 'GET /snapshots': answer(() => snapshots), 'GET /contracts': answer(() => contracts), 'GET /ledger': answer(() => ledger),
  'GET /shards': answer(() => shards), 'GET /audits': answer(() => audits), 'GET /events': answer(() => feed.recent()), 'GET /peers': answer(() => []),
};

const gc = (globalThis as { gc?: () => void }).gc;
const memory = () => {
  gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.external + m.arrayBuffers, rss: m.rss };
};

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'dbs-ui-bench-'));
const ui = await UiServer.listen({ dataDir, routes, feed, port: 0 });
const browser = await launchBrowser();
try {
  // Server side: each list the pages ask for, 5 times, median.
  const api: Array<[string, number]> = [];
  for (const url of ['/api/overview', '/api/status', '/api/snapshots?limit=20', '/api/contracts?limit=50', '/api/shards?limit=20', '/api/hosts?limit=25', '/api/guests?limit=25']) {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const res = await fetch(`${ui.origin}${url}`, { headers: { authorization: `Bearer ${ui.token}` } });
      await res.arrayBuffer();
      times.push(performance.now() - t0);
    }
    api.push([url, median(times)]);
  }

  const tti: number[] = [];
  const busy: number[] = [];
  for (let i = 0; i < loads; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    // The renderer's main-thread busy time (Chrome's TaskDuration): what the page costs in CPU,
    // which a loaded machine stretches in wall time but not in itself.
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(ui.url);
    // The page marks when every overview card first showed data and when the stream opened
    // (performance marks, by its own clock: no polling from here distorts them).
    await page.waitForSelector('[data-ready=yes]');
    await page.waitForSelector('[data-link=live]');
    if (process.env.DBS_UI_BENCH_TRACE) console.log(await page.evaluate(`JSON.stringify(performance.getEntries().map((e) => [e.name.replace(location.origin, ''), Math.round(e.startTime), Math.round(e.responseEnd ?? e.startTime + e.duration)]))`));
    const marks = (await page.evaluate(`['dbs-overview-ready', 'dbs-live'].map((n) => performance.getEntriesByName(n)[0].startTime)`)) as number[];
    tti.push(Math.max(...marks));
    const metrics = (await cdp.send('Performance.getMetrics')).metrics;
    busy.push(1000 * (metrics.find((m) => m.name === 'TaskDuration')?.value ?? NaN));
    await context.close();
  }

  // The floor on this machine now: a fresh context loading one small file (cookie set, no script).
  const floor: number[] = [];
  for (let i = 0; i < loads; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await context.addCookies([{ name: cookieName(ui.port), value: ui.token, url: ui.origin }]);
    await page.goto(`${ui.origin}/favicon.svg`);
    floor.push((await page.evaluate(`performance.getEntriesByType('navigation')[0].loadEventEnd`)) as number);
    await context.close();
  }

  const before = memory();
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(ui.url);
  await page.waitForSelector('[data-link=live]');
  await new Promise((r) => setTimeout(r, openS * 1000));
  const open = memory();
  await context.close();
  await new Promise((r) => setTimeout(r, 500));
  const closed = memory();
  // Last: its 10,000 decoded contracts would count in the memory figures above.
  const store = measureContractStore(CONTRACTS);

  const MiB = 2 ** 20;
  const section = [
    '## ui: the web page with 1,000 snapshots and 10,000 contracts',
    '',
    'Synthetic figures served through the real API layer (UiServer over control-route handlers that',
    `answer from arrays: ${SNAPSHOTS} snapshots, ${CONTRACTS} contracts over ${COUNTERPARTS} counterparts, ${shards.length} shards, 200 events), the page in`,
    'headless Chromium (/usr/bin/chromium, playwright-core) on the same machine.',
    '',
    ...machineLines(),
    `- Load average when it ended: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (other engineers' jobs share the 2 cores)`,
    '',
    markdownTable(['what', 'value'], [
      [`overview time to interactive, median of ${loads} fresh loads (ms)`, fixed(median(tti), 0)],
      ['overview time to interactive, slowest (ms)', fixed(Math.max(...tti), 0)],
      [`renderer main-thread busy time when read, just after, median (ms)`, fixed(median(busy), 0)],
      [`floor: a fresh context loading one static file, median of ${loads} (ms)`, fixed(median(floor), 0)],
      ...api.map(([url, ms]): [string, string] => [`GET ${url}, median of 5 (ms)`, fixed(ms, 1)]),
      ...store.map(([what, ms]): [string, string] => [`peer side, ${CONTRACTS} contracts in SQLite: ${what}`, fixed(ms, 1)]),
      [`serving process heap + external before the page opens (MiB)`, fixed(before.heap / MiB)],
      [`... with the page open ${openS} s, after a full GC (MiB)`, fixed(open.heap / MiB)],
      ['... after it closed (MiB)', fixed(closed.heap / MiB)],
      ['RSS before / open / closed (MiB)', `${fixed(before.rss / MiB)} / ${fixed(open.rss / MiB)} / ${fixed(closed.rss / MiB)}`],
    ]),
    '',
    "Time to interactive counts from the navigation's start (the token URL and its 303) until every",
    "overview card shows data and the live stream is open (the page's own performance marks): the",
    "first screen's 8 modules (fetched in one round thanks to modulepreload) parsed, and one answer,",
    'GET /api/overview, which index.html preloads while the scripts load, rendered. The other pages',
    'and uPlot are imported once the page is idle. "Busy time" is Chrome\'s TaskDuration for the',
    "page's renderer when the benchmark reads it, just after: it includes that idle-time work (uPlot,",
    'the chart, the other pages), so it is larger than the work done before the page is interactive;',
    'on a loaded machine it stretches too. "Floor" is what a fresh context takes for one small file',
    'on this machine at that moment. The lists are paged on the server: no answer carries more than',
    '500 rows. The "peer side" rows time what a running peer does for GET /status and GET /contracts',
    'with this many contracts in its SQLite database (bench/ui-store.ts), which the array-backed',
    'routes above skip. Memory: heap + external of the serving process, after a full GC, with the',
    "page open against before it opened, is the page's cost to the peer (one stream, a status push",
    'every 2 s, the jobs list); the synthetic data is in "before".',
  ].join('\n');
  console.log(section);
  if (flags.has('write')) writeSection('ui', section);
} finally {
  await browser.close();
  await ui.close();
  rmSync(dataDir, { recursive: true, force: true });
}
