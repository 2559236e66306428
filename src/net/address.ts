/**
 * Network addresses as the whole project writes them: `host:port` with a literal IP, IPv6 in
 * brackets, always in canonical form. A leaf module (only util/ip below it), so the wire codec,
 * RPC, transports, storage and the DHT all share it without depending on each other.
 */
import { isIP } from 'node:net';
import { canonicalIp } from '../util/ip.js';

/** A reachable UDP/TCP endpoint. `host` is a literal IPv4 or IPv6 address. */
export interface Address {
  host: string;
  port: number;
}

/**
 * Normalises an IP literal to the form Node reports for incoming packets, so the same
 * peer always hashes to the same ID (IPv4-mapped IPv6 becomes plain IPv4, IPv6 per RFC 5952).
 */
export function canonicalHost(host: string): string {
  return canonicalIp(host);
}

/** `host:port`, with IPv6 in brackets: `[::1]:4000`. */
export function formatAddress(address: Address): string {
  const host = canonicalHost(address.host);
  return isIP(host) === 6 ? `[${host}]:${address.port}` : `${host}:${address.port}`;
}

/** Parses `host:port` or `[v6]:port`; throws a readable error on anything else. */
export function parseAddress(text: string): Address {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) throw new Error(`invalid address "${text}": expected host:port or [ipv6]:port`);
  const host = canonicalHost(m[1]!);
  const port = Number(m[2]);
  if (!isIP(host)) throw new Error(`invalid address "${text}": host must be an IP address`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid address "${text}": port out of range`);
  return { host, port };
}
