/**
 * The page's JSON API. Every answer comes from a control route's handler (the same code
 * `dbs status`, `dbs backup`... reach through control.sock), paged or summed up by views.ts;
 * the API adds nothing the control socket would not answer. Long actions run as jobs.
 */
import path from 'node:path';
import type { ControlHandler } from '../control/protocol.js';
import type { ContractInfo, LedgerInfo } from '../contracts/service.js';
import type { AuditRecord, ShardHealth } from '../backup/shard-health.js';
import { UiError } from './errors.js';
import type { Jobs } from './jobs.js';
import { overview } from './overview.js';
import { forgetRequest, pruneRequest } from './retention-requests.js';
import { guestsView, hostsView, paginate } from './views.js';

export type ApiHandler = (query: URLSearchParams, body: Record<string, unknown>) => Promise<{ status?: number; body: unknown }>;

export interface ApiDeps {
  routes: Record<string, ControlHandler>;
  jobs: Jobs;
  csrf: string;
  pageSize: number;
  maxPageSize: number;
  /** Events in the overview answer. */
  overviewEvents: number;
}

/** A whole number from the query, within [0, max]. */
function int(query: URLSearchParams, key: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const text = query.get(key);
  if (text === null || text === '') return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new UiError('BAD_REQUEST', `${key} must be a whole number of 0 or more`);
  return Math.min(n, max);
}

function text(body: Record<string, unknown>, key: string, required: boolean): string | undefined {
  const v = body[key];
  if (v === undefined || v === '') {
    if (required) throw new UiError('BAD_REQUEST', `missing ${key}`);
    return undefined;
  }
  if (typeof v !== 'string' || v.includes('\0')) throw new UiError('BAD_REQUEST', `${key} must be text`);
  return v;
}

/** A path on this machine: absolute, since a page has no working directory to resolve against. */
function absolutePath(body: Record<string, unknown>, key: string): string {
  const p = text(body, key, true)!;
  if (!path.isAbsolute(p)) throw new UiError('BAD_REQUEST', `${key} must be an absolute path (it is resolved on the peer's machine)`);
  return p;
}

/** A path inside a snapshot: relative, without `..` (restore uses it only to select entries; refused anyway). */
function snapshotPath(body: Record<string, unknown>, key: string): string | undefined {
  const p = text(body, key, false);
  if (p !== undefined && p.split('/').includes('..')) throw new UiError('BAD_REQUEST', `${key} must not contain ".."`);
  return p;
}

export function apiRoutes(deps: ApiDeps): { get: Record<string, ApiHandler>; post: Record<string, ApiHandler> } {
  const call = async <T>(route: string, body: Record<string, unknown> = {}, report: (p: unknown) => void = () => {}): Promise<T> => {
    const handler = deps.routes[route];
    if (!handler) throw new UiError('NOT_FOUND', `this peer does not serve ${route}`);
    return (await handler(body, report)) as T;
  };
  const page = (q: URLSearchParams) => ({ offset: int(q, 'offset', 0), limit: int(q, 'limit', deps.pageSize, deps.maxPageSize) });
  const paged = (route: string) => async (q: URLSearchParams) => {
    const { offset, limit } = page(q);
    return { body: paginate(await call<unknown[]>(route), offset, limit) };
  };
  const job = (kind: string, route: string, request: Record<string, unknown>) => {
    const j = deps.jobs.start(kind, request, (report) => call(route, request, report));
    return { status: 202, body: j };
  };
  return {
    get: {
      '/api/session': async () => ({ body: { csrf: deps.csrf, pageSize: deps.pageSize, maxPageSize: deps.maxPageSize } }),
      '/api/status': async () => ({ body: await call('GET /status') }),
      '/api/overview': async () => ({ body: await overview({ call, jobs: () => deps.jobs.list(), events: deps.overviewEvents }) }),
      '/api/peers': paged('GET /peers'),
      '/api/contracts': paged('GET /contracts'),
      '/api/snapshots': paged('GET /snapshots'),
      '/api/shards': async (q) => {
        const shards = await call<ShardHealth[]>('GET /shards');
        const { offset, limit } = page(q);
        return { body: { ...paginate(shards, offset, limit), degraded: shards.filter((s) => s.live < s.wanted).length } };
      },
      '/api/events': async (q) => ({ body: (await call<unknown[]>('GET /events')).slice(0, int(q, 'limit', deps.pageSize, deps.maxPageSize)) }),
      '/api/jobs': async () => ({ body: deps.jobs.list() }),
      '/api/watches': async () => ({ body: await call('GET /watches') }),
      '/api/entries': async (q) => {
        const snapshot = q.get('snapshot');
        if (!snapshot) throw new UiError('BAD_REQUEST', 'missing snapshot');
        return { body: await call('POST /ls', { snapshot, dir: q.get('dir') ?? '', ...page(q) }) };
      },
      '/api/hosts': async (q) => {
        const [contracts, ledger, audits] = await Promise.all([call<ContractInfo[]>('GET /contracts'), call<LedgerInfo[]>('GET /ledger'), call<AuditRecord[]>('GET /audits')]);
        const { offset, limit } = page(q);
        const hosts = hostsView(contracts, ledger, audits);
        return { body: { ...paginate(hosts, offset, limit), bytes: hosts.reduce((t, h) => t + h.bytes, 0), failing: hosts.filter((h) => h.health === 'failing').length } };
      },
      '/api/guests': async (q) => {
        const [contracts, ledger] = await Promise.all([call<ContractInfo[]>('GET /contracts'), call<LedgerInfo[]>('GET /ledger')]);
        const { offset, limit } = page(q);
        const guests = guestsView(contracts, ledger);
        return { body: { ...paginate(guests, offset, limit), bytes: guests.reduce((t, g) => t + g.bytes, 0) } };
      },
    },
    post: {
      '/api/backup': async (_q, body) => {
        const request: Record<string, unknown> = { path: absolutePath(body, 'path') };
        if (body.replicas !== undefined) request.replicas = body.replicas;
        return job('backup', 'POST /backup', request);
      },
      '/api/restore': async (_q, body) => {
        const only = snapshotPath(body, 'path');
        const request = { snapshot: text(body, 'snapshot', true)!, dest: absolutePath(body, 'dest'), ...(only ? { path: only } : {}) };
        return job('restore', 'POST /restore', request);
      },
      '/api/check': async () => job('check', 'POST /check', {}),
      // The plan (dry run) answers at once: it only reads the snapshot list. Removing is a job.
      '/api/forget': async (_q, body) => {
        const request = forgetRequest(body);
        return request.dryRun ? { body: await call('POST /forget', request) } : job('forget', 'POST /forget', request);
      },
      '/api/prune': async (_q, body) => job('prune', 'POST /prune', pruneRequest(body)),
    },
  };
}
