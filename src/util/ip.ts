/**
 * IP literals: canonical text (so a peer's ID is the same whoever computes it) and the
 * "source" an address counts as for per-source limits. One IPv6 host usually owns a whole
 * /64, so per-source limits key IPv6 by its /64 and IPv4 by the address.
 */
import { isIP } from 'node:net';

/** Canonical text of an IP literal: IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 per RFC 5952. */
export function canonicalIp(host: string): string {
  const lower = host.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return mapped[1]!;
  return isIP(lower) === 6 ? formatIPv6(ipv6Bytes(lower)) : lower;
}

/** The key per-source limits count under: the IPv4 address, or the IPv6 /64. */
export function sourceKey(host: string): string {
  const ip = canonicalIp(host);
  if (isIP(ip) !== 6) return ip;
  const bytes = ipv6Bytes(ip);
  bytes.fill(0, 8);
  return `${formatIPv6(bytes)}/64`;
}

/** The 16 bytes of an IPv6 literal (which must be valid). */
export function ipv6Bytes(host: string): Uint8Array {
  const out = Buffer.alloc(16);
  let text = host.toLowerCase();
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups first.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const p = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? 0 : 8 - headParts.length - tailParts.length;
  const groups = [...headParts, ...Array<string>(zeros).fill('0'), ...tailParts];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return new Uint8Array(out);
}

/** RFC 5952 text of 16 IPv6 bytes: lower case, longest run of two or more zero groups as `::`. */
export function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** True for 0.0.0.0 and :: (a socket bound there listens on every interface). */
export function isUnspecified(host: string): boolean {
  const ip = canonicalIp(host);
  return ip === '0.0.0.0' || ip === '::';
}

/**
 * The network an address (or a `sourceKey`) belongs to for fair sharing: IPv4 /24, IPv6 /48 —
 * what one site or customer usually holds, so many addresses of one attacker count as one.
 */
export function prefixKey(hostOrSource: string): string {
  const host = hostOrSource.replace(/\/\d+$/, '');
  const ip = canonicalIp(host);
  const kind = isIP(ip);
  if (kind === 4) return `${ip.split('.').slice(0, 3).join('.')}.0/24`;
  if (kind !== 6) return ip;
  const bytes = ipv6Bytes(ip);
  bytes.fill(0, 6);
  return `${formatIPv6(bytes)}/48`;
}
