/** What the hosts and guests pages show, from the control routes' answers (pure functions). */
import { expect } from 'chai';
import type { ContractInfo, LedgerInfo } from '../src/contracts/service.js';
import { guestsView, hostsView, paginate } from '../src/ui/views.js';

const contract = (id: string, counterpart: string, over: Partial<ContractInfo> = {}): ContractInfo => ({
  id, role: 'owner', counterpart, counterpartAddress: `127.0.0.1:${counterpart.length}`, shardHash: 'aa', size: 100, state: 'active', createdAt: 0, expiresAt: 1, ...over,
});
const ledger = (counterpart: string, over: Partial<LedgerInfo> = {}): LedgerInfo => ({ counterpart, lastAddress: null, keptForThem: 0, keptByThem: 0, strikes: 0, defaulterSince: null, ...over });

describe('ui: views of hosts and guests', () => {
  it('a host that passed its last audit is ok; one never audited is unaudited', () => {
    const views = hostsView([contract('c1', 'h1'), contract('c2', 'h2')], [ledger('h1', { keptByThem: 100 }), ledger('h2')], [{ contract: 'c1', lastAuditAt: 5, unreachableSince: null }]);
    expect(views.map((v) => [v.host, v.health])).to.deep.equal([['h2', 'unaudited'], ['h1', 'ok']]);
    expect(views[1]!.bytes).to.equal(100);
  });

  it('a host unreachable since its last passed audit is failing, even once its contract was cancelled', () => {
    const [v] = hostsView([contract('c1', 'h1', { state: 'cancelled' })], [ledger('h1')], [{ contract: 'c1', lastAuditAt: 5, unreachableSince: 9 }]);
    expect(v).to.include({ health: 'failing', reason: 'unreachable', unreachableSince: 9, contracts: 0 });
  });

  it('a host that came back and passed a later audit is ok again', () => {
    const [v] = hostsView([contract('c1', 'h1', { state: 'cancelled' }), contract('c2', 'h1')], [ledger('h1')], [
      { contract: 'c1', lastAuditAt: null, unreachableSince: 9 },
      { contract: 'c2', lastAuditAt: 20, unreachableSince: null },
    ]);
    expect(v).to.include({ health: 'ok', unreachableSince: null, contracts: 1 });
  });

  it('cancelled spare proposals (never audited) do not make a host failing; strikes and defaulters do', () => {
    const views = hostsView(
      [contract('c1', 'spare', { state: 'cancelled' }), contract('c2', 'struck'), contract('c3', 'gone')],
      [ledger('struck', { strikes: 1 }), ledger('gone', { defaulterSince: 3 })],
      [],
    );
    expect(Object.fromEntries(views.map((v) => [v.host, v.reason]))).to.deep.equal({ spare: null, struck: 'strikes', gone: 'defaulter' });
  });

  it('guests: what we keep for them, the balance, strikes first', () => {
    const views = guestsView(
      [contract('c1', 'g1', { role: 'host', size: 300 }), contract('c2', 'g2', { role: 'host' }), contract('c3', 'h', { role: 'owner' })],
      [ledger('g1', { keptForThem: 300, keptByThem: 100 }), ledger('g2', { keptForThem: 100, strikes: 2 })],
    );
    expect(views.map((v) => [v.guest, v.bytes, v.balance, v.strikes])).to.deep.equal([['g2', 100, -100, 2], ['g1', 300, -200, 0]]);
  });

  it('pages: total, offset and the slice', () => {
    expect(paginate([1, 2, 3, 4, 5], 3, 10)).to.deep.equal({ total: 5, offset: 3, items: [4, 5] });
  });
});

describe('cli: dbs start --ui [HOST:PORT]', () => {
  it('takes HOST:PORT, PORT, HOST or [IPv6]:PORT; the rest from the defaults', async () => {
    const { parseUiAddress: uiAddress } = await import('../src/cli/ui-address.js');
    expect(uiAddress(true)).to.deep.equal({ host: '127.0.0.1', port: 7780 });
    expect(uiAddress('127.0.0.1:0')).to.deep.equal({ host: '127.0.0.1', port: 0 });
    expect(uiAddress('8000')).to.deep.equal({ host: '127.0.0.1', port: 8000 });
    expect(uiAddress('127.0.0.2')).to.deep.equal({ host: '127.0.0.2', port: 7780 });
    expect(uiAddress('[::1]:9000')).to.deep.equal({ host: '::1', port: 9000 });
    expect(() => uiAddress('a:b:c')).to.throw(/not HOST:PORT/);
    expect(() => uiAddress('127.0.0.1:70000')).to.throw(/not HOST:PORT/);
  });
});

describe('ui: the event feed and the jobs list stay bounded', () => {
  it('keeps the last `capacity` events, newest first, and tells listeners of each', async () => {
    const { EventFeed } = await import('../src/control/event-feed.js');
    let t = 0;
    const feed = new EventFeed(3, () => ++t);
    const heard: number[] = [];
    const off = feed.subscribe((e) => heard.push(e.seq));
    for (let i = 0; i < 5; i++) feed.push('info', `e${i}`, i % 2 ? `line ${i}` : undefined);
    off();
    feed.push('warn', 'late');
    expect(feed.recent().map((e) => e.event)).to.deep.equal(['late', 'e4', 'e3']);
    expect(feed.recent(1)[0]).to.deep.equal({ seq: 6, at: 6, level: 'warn', event: 'late', text: null });
    expect(heard).to.deep.equal([1, 2, 3, 4, 5]);
  });

  it('keeps running jobs and the last `kept` finished ones; a failure carries its exit code', async () => {
    const { Jobs } = await import('../src/ui/jobs.js');
    const changes: string[] = [];
    const jobs = new Jobs(2, (j) => changes.push(`${j.id}:${j.state}`), (err) => ({ message: (err as Error).message, exitCode: 4 }));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    jobs.start('backup', { path: '/x' }, async (report) => {
      report({ files: 1 });
      await held;
      return { id: 's1' };
    });
    for (let i = 0; i < 3; i++) jobs.start('check', {}, async () => ({ audited: i }));
    jobs.start('restore', {}, async () => {
      throw new Error('unknown snapshot nope');
    });
    await new Promise((r) => setImmediate(r));
    expect(jobs.list().map((j) => [j.id, j.state])).to.deep.equal([[5, 'failed'], [4, 'done'], [1, 'running']]);
    expect(jobs.list()[0]!.error).to.deep.equal({ message: 'unknown snapshot nope', exitCode: 4 });
    release();
    await new Promise((r) => setImmediate(r));
    expect(jobs.list().map((j) => j.id)).to.deep.equal([5, 4]);
    expect(changes.slice(0, 2)).to.deep.equal(['1:running', '1:running']);
  });
});
