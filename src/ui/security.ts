/**
 * The web page's request checks, as pure functions of the request's headers (no I/O), in the
 * order the server applies them. What Syncthing learned (docs/ui.md, "Security"):
 *
 * 1. Host must name the address served: a DNS-rebinding page (evil.example resolving to
 *    127.0.0.1) sends `Host: evil.example` and is refused.
 * 2. Sec-Fetch-Site, when the browser sends it, must be `same-origin` or `none`: another
 *    site's page, including one on another port of this machine, cannot use our cookie.
 * 3. The access token, from `Authorization: Bearer` (scripts) or the HttpOnly cookie the first
 *    visit set, compared in constant time.
 * 4. State-changing requests (POST) also need the CSRF token in `X-CSRF-Token` and, when the
 *    browser sends one, an Origin equal to ours.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import { UiError } from './errors.js';

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  return net.isIPv4(h) && h.startsWith('127.');
}

/** `host:port` as a URL authority (IPv6 in brackets). */
export function authority(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The Host header values that name the address served. A loopback server also answers to `localhost`. */
export function allowedHosts(host: string, port: number): Set<string> {
  const hosts = new Set([authority(host, port).toLowerCase()]);
  if (isLoopback(host)) hosts.add(`localhost:${port}`);
  return hosts;
}

export function checkHost(headers: IncomingHttpHeaders, allowed: Set<string>): void {
  const host = (headers.host ?? '').toLowerCase();
  if (!allowed.has(host)) throw new UiError('BAD_HOST', `Host "${host}" is not the address served (${[...allowed].join(', ')})`);
}

export function checkFetchSite(headers: IncomingHttpHeaders): void {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new UiError('CROSS_ORIGIN', `request from another site (Sec-Fetch-Site: ${String(site)})`);
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The cookie named `name` in a Cookie header, or null. */
export function readCookie(headers: IncomingHttpHeaders, name: string): string | null {
  for (const part of (headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** The token a request presents: the Authorization header first, else the cookie. */
export function presentedToken(headers: IncomingHttpHeaders, cookie: string): string | null {
  const auth = headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  return readCookie(headers, cookie);
}

export function checkToken(presented: string | null, token: string): void {
  if (presented === null || presented === '') throw new UiError('NO_TOKEN', 'no access token: open the address `dbs ui` prints');
  if (!sameSecret(presented, token)) throw new UiError('BAD_TOKEN', 'wrong access token');
}

/** For POST: the CSRF token, and an Origin (when sent) that is ours. */
export function checkStateChange(headers: IncomingHttpHeaders, csrf: string, origins: Set<string>): void {
  const origin = headers.origin;
  if (origin !== undefined && !origins.has(origin.toLowerCase())) throw new UiError('CROSS_ORIGIN', `request from another origin (${origin})`);
  const presented = headers['x-csrf-token'];
  if (typeof presented !== 'string' || !sameSecret(presented, csrf)) throw new UiError('BAD_CSRF', 'missing or wrong X-CSRF-Token');
}

/** Response headers on every answer: no framing, nothing from another origin, no sniffing, no referrer. */
export function securityHeaders(scriptHashes: string[]): Record<string, string> {
  const scripts = ["'self'", ...scriptHashes.map((h) => `'sha256-${h}'`)].join(' ');
  return {
    'content-security-policy': `default-src 'self'; script-src ${scripts}; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'cache-control': 'no-store',
  };
}
