/**
 * Whether a restored tree is the source: SHA-256 of every file, streamed, compared path by
 * path; and a pass that reads a tree once so that every tool starts from the page cache.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { MiB } from './settings.js';

async function* walk(dir: string, rel = ''): AsyncGenerator<string> {
  const entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) yield* walk(dir, r);
    else yield r;
  }
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Relative path -> SHA-256 of every file (not directories) under `dir`, streaming. */
export async function hashTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const rel of walk(dir)) out.set(rel, await hashFile(path.join(dir, rel)));
  return out;
}

/** Null if `dir` holds exactly the files of `expected` with the same contents, else what differs. */
export async function verifyTree(dir: string, expected: Map<string, string>, what: string): Promise<string | null> {
  const got = await hashTree(dir);
  const missing = [...expected.keys()].filter((k) => !got.has(k));
  const extra = [...got.keys()].filter((k) => !expected.has(k));
  const differ = [...expected.keys()].filter((k) => got.has(k) && got.get(k) !== expected.get(k));
  if (missing.length + extra.length + differ.length > 0) {
    const list = (name: string, l: string[]) => (l.length ? ` ${l.length} ${name} (${l.slice(0, 3).join(', ')}${l.length > 3 ? ', ...' : ''})` : '');
    const problem = `differs from the source:${list('missing', missing)}${list('extra', extra)}${list('different', differ)}`;
    console.log(`  VERIFY FAILED, ${what}: ${problem}`);
    return problem;
  }
  console.log(`  verified: ${got.size} files identical to the source`);
  return null;
}

/** Reads every file once, so that both tools start from the page cache. */
export async function warm(dir: string): Promise<void> {
  for await (const rel of walk(dir)) for await (const _ of createReadStream(path.join(dir, rel), { highWaterMark: MiB }));
}
