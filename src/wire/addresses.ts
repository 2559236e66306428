/**
 * Compact contact lists: 6 bytes per IPv4 node (address, port) and 18 per IPv6 node.
 * IDs are not sent: the receiver derives each one from the address, so a list cannot
 * pair an address with an ID that does not belong to it.
 */
import { isIP } from 'node:net';
import { type Address, canonicalHost } from '../dht/id.js';
import { MalformedMessageError } from './fields.js';

const V4 = 6;
const V6 = 18;

/** Splits addresses into the packed IPv4 and IPv6 lists. */
export function packAddresses(addresses: Iterable<Address>): { v4: Uint8Array; v6: Uint8Array } {
  const v4: Buffer[] = [];
  const v6: Buffer[] = [];
  for (const a of addresses) {
    const host = canonicalHost(a.host);
    const kind = isIP(host);
    if (kind === 4) {
      const b = Buffer.alloc(V4);
      host.split('.').forEach((part, i) => (b[i] = Number(part)));
      b.writeUInt16BE(a.port, 4);
      v4.push(b);
    } else if (kind === 6) {
      const b = Buffer.alloc(V6);
      expandIPv6(host).copy(b, 0);
      b.writeUInt16BE(a.port, 16);
      v6.push(b);
    }
  }
  return { v4: new Uint8Array(Buffer.concat(v4)), v6: new Uint8Array(Buffer.concat(v6)) };
}

/** Reads a packed list; rejects lists of the wrong length, port 0 and unspecified addresses. */
export function unpackAddresses(bytes: Uint8Array, family: 4 | 6, maxCount: number): Address[] {
  const size = family === 4 ? V4 : V6;
  if (bytes.length % size !== 0) throw new MalformedMessageError(`IPv${family} node list has bad length ${bytes.length}`);
  if (bytes.length / size > maxCount) throw new MalformedMessageError(`IPv${family} node list longer than ${maxCount}`);
  const out: Address[] = [];
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let off = 0; off < buf.length; off += size) {
    const port = buf.readUInt16BE(off + size - 2);
    const host = family === 4 ? Array.from(buf.subarray(off, off + 4)).join('.') : formatIPv6(buf.subarray(off, off + 16));
    if (port === 0) throw new MalformedMessageError('node list contains port 0');
    if (host === '0.0.0.0' || host === '::') throw new MalformedMessageError('node list contains an unspecified address');
    out.push({ host: canonicalHost(host), port });
  }
  return out;
}

function expandIPv6(host: string): Buffer {
  const out = Buffer.alloc(16);
  let text = host;
  // An embedded IPv4 tail (::ffff:1.2.3.4 style) is turned into two hex groups first.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const p = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  const zeros = 8 - headParts.length - tailParts.length;
  const groups = [...headParts, ...Array<string>(tail === undefined ? 0 : zeros).fill('0'), ...tailParts];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952: compress the longest run (length >= 2) of zero groups.
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
