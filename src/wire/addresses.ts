/**
 * Compact contact lists: 6 bytes per IPv4 node (address, port) and 18 per IPv6 node.
 * IDs are not sent: the receiver derives each one from the address, so a list cannot
 * pair an address with an ID that does not belong to it.
 */
import { isIP } from 'node:net';
import { type Address, canonicalHost } from '../net/address.js';
import { formatIPv6, ipv6Bytes } from '../util/ip.js';
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
      Buffer.from(ipv6Bytes(host)).copy(b, 0);
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
    // Both forms above are already canonical (dotted quad, RFC 5952).
    out.push({ host, port });
  }
  return out;
}
