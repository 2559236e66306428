/** Reads an HTTP request's JSON object body, refusing more than `maxBytes` (for small local APIs). */
import type { IncomingMessage } from 'node:http';

export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  let size = 0;
  const parts: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new Error(`request body over ${maxBytes} bytes`);
    parts.push(chunk as Buffer);
  }
  if (size === 0) return {};
  const value: unknown = JSON.parse(Buffer.concat(parts).toString('utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('request body must be a JSON object');
  return value as Record<string, unknown>;
}
