/**
 * The web page's server refuses what Syncthing learned to refuse: requests without the token or
 * with a wrong one, a Host that is not the address served (DNS rebinding), another site's
 * requests and cross-origin POSTs, POSTs without the CSRF token; it sends a strict CSP and no
 * framing on every answer; the token file is 0600 and kept. Plain HTTP on 127.0.0.1 against a
 * real UiServer; the routes are small handlers (what they answer is not the point here).
 */
import { expect } from 'chai';
import { statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { UiServer } from '../src/ui/server.js';
import { UiError } from '../src/ui/errors.js';
import type { ControlHandler } from '../src/control/protocol.js';
import { tempDir } from './helpers/peers.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(ui: UiServer, method: string, url: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? '' : JSON.stringify(body);
    const req = http.request({ host: ui.host, port: ui.port, method, path: url, headers: { host: `${ui.host}:${ui.port}`, ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

describe('ui: the web page server refuses what it must', function () {
  this.timeout(10_000);
  const dir = tempDir('dbs-ui-sec-');
  const calls: Array<{ route: string; body: Record<string, unknown> }> = [];
  const handler = (route: string, answer: unknown): ControlHandler => async (body) => {
    calls.push({ route, body });
    return answer;
  };
  const routes: Record<string, ControlHandler> = {
    'GET /status': handler('GET /status', { address: '127.0.0.1:1', transfer: { bytesIn: 0, bytesOut: 0 } }),
    'GET /snapshots': handler('GET /snapshots', Array.from({ length: 1200 }, (_, i) => ({ id: `s${i}` }))),
    'POST /restore': handler('POST /restore', { files: 0, bytes: 0, incomplete: [] }),
    'POST /check': handler('POST /check', { audited: 0, failed: 0, cancelled: 0, replaced: 0 }),
    'POST /stop': handler('POST /stop', { stopping: true }),
    'POST /forget': handler('POST /forget', { policy: 'keep 1 latest', dryRun: true, groups: [], remove: [], removed: [] }),
    'POST /prune': handler('POST /prune', { dryRun: true }),
  };
  let ui: UiServer;
  let auth: Record<string, string>;
  let csrf: string;

  before(async () => {
    ui = await UiServer.listen({ dataDir: dir, routes, port: 0 });
    auth = { authorization: `Bearer ${ui.token}` };
    csrf = (JSON.parse((await request(ui, 'GET', '/api/session', auth)).body) as { csrf: string }).csrf;
  });
  after(async () => {
    await ui.close();
  });

  it('answers 401 without a token and 403 with a wrong one, on the API, the page and its files', async () => {
    for (const url of ['/api/status', '/', '/app.js', '/vendor/preact.mjs', '/api/stream']) {
      expect((await request(ui, 'GET', url)).status, url).to.equal(401);
      expect((await request(ui, 'GET', url, { authorization: 'Bearer 00' })).status, url).to.equal(403);
      expect((await request(ui, 'GET', url, { cookie: `dbs_ui_${ui.port}=${'0'.repeat(64)}` })).status, url).to.equal(403);
    }
    expect((await request(ui, 'GET', `/?token=${'f'.repeat(64)}`)).status).to.equal(403);
    expect((await request(ui, 'GET', '/api/status', auth)).status).to.equal(200);
  });

  it('turns the token in the first URL into an HttpOnly, SameSite=Strict cookie and drops it from the URL', async () => {
    const first = await request(ui, 'GET', `/?token=${ui.token}`);
    expect(first.status).to.equal(303);
    expect(first.headers.location).to.equal('/');
    const cookie = first.headers['set-cookie']![0]!;
    expect(cookie).to.match(/HttpOnly/).and.match(/SameSite=Strict/);
    const page = await request(ui, 'GET', '/', { cookie: cookie.split(';')[0]! });
    expect(page.status).to.equal(200);
    expect(page.body).to.contain('<script type="importmap">').and.not.contain(ui.token);
  });

  it('refuses a Host header that is not the address served (DNS rebinding), even with the token', async () => {
    for (const host of ['evil.example', `evil.example:${ui.port}`, `127.0.0.1:${ui.port + 1}`, `[::1]:${ui.port}`]) {
      const r = await request(ui, 'GET', '/api/status', { ...auth, host });
      expect(r.status, host).to.equal(421);
      expect(JSON.parse(r.body).error.code).to.equal('BAD_HOST');
    }
    expect((await request(ui, 'GET', '/api/status', { ...auth, host: `localhost:${ui.port}` })).status).to.equal(200);
  });

  it('refuses requests another site makes (Sec-Fetch-Site), even with the cookie', async () => {
    for (const site of ['cross-site', 'same-site']) {
      const r = await request(ui, 'GET', '/api/status', { cookie: `dbs_ui_${ui.port}=${ui.token}`, 'sec-fetch-site': site });
      expect(r.status, site).to.equal(403);
    }
  });

  it('refuses cross-origin POSTs and POSTs without the CSRF token; runs a same-origin one', async () => {
    calls.length = 0;
    const origin = `http://${ui.host}:${ui.port}`;
    const cross = await request(ui, 'POST', '/api/check', { ...auth, origin: 'http://evil.example', 'x-csrf-token': csrf }, {});
    expect(cross.status).to.equal(403);
    expect(JSON.parse(cross.body).error.code).to.equal('CROSS_ORIGIN');
    const noCsrf = await request(ui, 'POST', '/api/check', { ...auth, origin }, {});
    expect(noCsrf.status).to.equal(403);
    expect(JSON.parse(noCsrf.body).error.code).to.equal('BAD_CSRF');
    const wrongCsrf = await request(ui, 'POST', '/api/check', { ...auth, origin, 'x-csrf-token': 'a'.repeat(64) }, {});
    expect(wrongCsrf.status).to.equal(403);
    expect(calls.filter((c) => c.route === 'POST /check')).to.have.length(0);
    const ok = await request(ui, 'POST', '/api/check', { ...auth, origin, 'x-csrf-token': csrf, 'sec-fetch-site': 'same-origin' }, {});
    expect(ok.status, ok.body).to.equal(202);
    expect(calls.filter((c) => c.route === 'POST /check')).to.have.length(1);
  });

  it('sends a strict CSP, no framing and no sniffing on every answer, refusals included', async () => {
    for (const [url, headers] of [['/api/status', auth], ['/api/status', {}], ['/app.js', auth], ['/nope', auth]] as const) {
      const r = await request(ui, 'GET', url, headers);
      const csp = String(r.headers['content-security-policy']);
      expect(csp, url).to.match(/default-src 'self'/).and.match(/frame-ancestors 'none'/).and.match(/connect-src 'self'/);
      expect(csp).to.not.match(/unsafe-inline|unsafe-eval|\*/);
      expect(r.headers['x-frame-options']).to.equal('DENY');
      expect(r.headers['x-content-type-options']).to.equal('nosniff');
    }
  });

  it('serves only the API the control routes answer: no stop, no unknown route', async () => {
    const origin = `http://${ui.host}:${ui.port}`;
    expect((await request(ui, 'POST', '/api/stop', { ...auth, origin, 'x-csrf-token': csrf }, {})).status).to.equal(404);
    expect((await request(ui, 'GET', '/api/../../etc/passwd', auth)).status).to.equal(404);
    expect((await request(ui, 'GET', '/vendor/../package.json', auth)).status).to.equal(404);
    expect(calls.some((c) => c.route === 'POST /stop')).to.equal(false);
  });

  it('checks restore paths: the destination absolute, no ".." inside the snapshot', async () => {
    calls.length = 0;
    const headers = { ...auth, origin: `http://${ui.host}:${ui.port}`, 'x-csrf-token': csrf };
    const relative = await request(ui, 'POST', '/api/restore', headers, { snapshot: 'latest', dest: 'restored' });
    expect(relative.status).to.equal(400);
    expect(JSON.parse(relative.body).error.message).to.match(/absolute/);
    expect((await request(ui, 'POST', '/api/restore', headers, { snapshot: 'latest', dest: '/tmp/x', path: 'a/../../b' })).status).to.equal(400);
    expect((await request(ui, 'POST', '/api/restore', headers, { snapshot: 'latest', dest: '/tmp/x\u0000y' })).status).to.equal(400);
    expect(calls).to.have.length(0);
  });

  it('forget and prune: CSRF-checked like every POST, the body rebuilt key by key, the plan answered at once, the rest as jobs', async () => {
    calls.length = 0;
    const origin = `http://${ui.host}:${ui.port}`;
    const headers = { ...auth, origin, 'x-csrf-token': csrf };
    expect((await request(ui, 'POST', '/api/forget', { ...auth, origin }, { keep: { last: '1' }, dryRun: true })).status).to.equal(403);
    expect((await request(ui, 'POST', '/api/prune', { ...auth, origin: 'http://evil.example', 'x-csrf-token': csrf }, {})).status).to.equal(403);
    expect(calls).to.have.length(0);
    // Unknown rules, both rules and IDs, neither, odd IDs, a bad percentage: 400 before the peer is asked.
    for (const body of [{ keep: { last: '1', stop: true } }, { keep: { last: '1' }, snapshots: ['a'] }, {}, { snapshots: ['../x'] }, { keep: { tag: 'a' } }, { keep: { last: 'x'.repeat(300) } }]) {
      const r = await request(ui, 'POST', '/api/forget', headers, body);
      expect(r.status, JSON.stringify(body)).to.equal(400);
    }
    expect((await request(ui, 'POST', '/api/prune', headers, { maxUnused: 100 })).status).to.equal(400);
    expect(calls).to.have.length(0);
    const plan = await request(ui, 'POST', '/api/forget', headers, { keep: { last: 1, daily: ' 7 ', tag: ['a,b', ''] }, dryRun: true, prune: true, sources: ['/etc'] });
    expect(plan.status, plan.body).to.equal(200);
    expect(JSON.parse(plan.body).policy).to.equal('keep 1 latest');
    expect(calls.at(-1)).to.deep.equal({ route: 'POST /forget', body: { snapshots: [], keep: { last: '1', daily: '7', tag: ['a,b'] }, dryRun: true } });
    const apply = await request(ui, 'POST', '/api/forget', headers, { snapshots: ['20261203T120000Z-abcdef'], dryRun: false, prune: true });
    expect(apply.status).to.equal(202);
    expect(JSON.parse(apply.body).kind).to.equal('forget');
    expect(calls.at(-1)).to.deep.equal({ route: 'POST /forget', body: { snapshots: ['20261203T120000Z-abcdef'], keep: {}, dryRun: false } });
    const prune = await request(ui, 'POST', '/api/prune', headers, { dryRun: true, maxUnused: '10', extra: 1 });
    expect(prune.status).to.equal(202);
    expect(calls.at(-1)).to.deep.equal({ route: 'POST /prune', body: { dryRun: true, maxUnused: 10 } });
  });

  it('pages long lists and caps the page size', async () => {
    const r = JSON.parse((await request(ui, 'GET', '/api/snapshots?offset=1000&limit=100000', auth)).body) as { total: number; offset: number; items: Array<{ id: string }> };
    expect(r.total).to.equal(1200);
    expect(r.items).to.have.length(200);
    expect(r.items[0]!.id).to.equal('s1000');
    expect((await request(ui, 'GET', '/api/snapshots?limit=-1', auth)).status).to.equal(400);
    expect(JSON.parse((await request(ui, 'GET', '/api/snapshots?limit=9999', auth)).body).items).to.have.length(500);
  });

  it('keeps its token in a 0600 file that a restart reuses', async () => {
    const file = path.join(dir, 'ui-token');
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    const again = await UiServer.listen({ dataDir: dir, routes, port: 0 });
    try {
      expect(again.token).to.equal(ui.token);
      expect(again.url).to.equal(`http://127.0.0.1:${again.port}/?token=${ui.token}`);
    } finally {
      await again.close();
    }
  });

  it('binds a non-loopback address only when told to', async () => {
    const err = await UiServer.listen({ dataDir: dir, routes, port: 0, host: '0.0.0.0' }).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(UiError).with.property('code', 'REMOTE_NOT_ALLOWED');
  });
});
