/**
 * Byte strings: hex text and comparisons. A leaf module (imports nothing of the project), so
 * every layer can use it without depending on the DHT.
 */

/** Lower-case hex of the bytes (a view is read in place, not copied). */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Parses hex text; throws a readable error on anything that is not an even run of hex digits. */
export function fromHex(hex: string): Uint8Array {
  if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new Error(`invalid hex string "${hex.slice(0, 16)}..."`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** True when both hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lexicographic comparison of byte strings (negative, 0, positive); a prefix sorts first. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
