/**
 * The mixed data set bench:backup backs up: large random files, thousands of small text-like
 * files, compressible logs and duplicates, pseudo-random and the same from run to run, written
 * a block at a time (never held in memory whole).
 */
import { createCipheriv, createHash } from 'node:crypto';
import { mkdirSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { seededRandom } from '../common.js';
import { KiB, MiB } from './settings.js';

export interface Part {
  kind: string;
  files: number;
  bytes: number;
}

export interface DataSet {
  dir: string;
  files: number;
  bytes: number;
  parts: Part[];
}

/** `size` pseudo-random bytes (AES-256-CTR keystream keyed by `seed`), written 1 MiB at a time. */
export async function writeRandomFile(file: string, size: number, seed: string): Promise<void> {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(MiB);
  const handle = await fs.open(file, 'wx', 0o644);
  try {
    for (let off = 0; off < size; off += MiB) {
      const n = Math.min(MiB, size - off);
      const block = cipher.update(zeros.subarray(0, n));
      await handle.write(block, 0, n, off);
    }
  } finally {
    await handle.close();
  }
}

/** Writes what `next` returns (strings of about 1 MiB) until the file has `size` bytes. */
async function writeGenerated(file: string, size: number, next: () => string): Promise<void> {
  const handle = await fs.open(file, 'wx', 0o644);
  try {
    let off = 0;
    while (off < size) {
      const block = Buffer.from(next(), 'latin1');
      const n = Math.min(block.length, size - off);
      await handle.write(block, 0, n, off);
      off += n;
    }
  } finally {
    await handle.close();
  }
}

/** Words with English-like letter frequencies; picked with a skew, so that text compresses like text. */
function vocabulary(random: () => number): string[] {
  const letters = 'eeeeeeeeeeeetttttttttaaaaaaaaoooooooiiiiiiinnnnnnnsssssshhhhhhrrrrrrddddlllluuucccmmmwwffggyyppbbvkjxqz';
  return Array.from({ length: 5000 }, () => {
    const n = 1 + Math.floor(random() * random() * 11);
    let w = '';
    for (let i = 0; i < n; i++) w += letters[Math.floor(random() * letters.length)];
    return w;
  });
}

function textOfSize(random: () => number, words: string[], size: number): string {
  const lines: string[] = [];
  let length = 0;
  while (length < size) {
    const count = 6 + Math.floor(random() * 14);
    const picked: string[] = [];
    for (let i = 0; i < count; i++) picked.push(words[Math.floor(words.length * random() ** 3)]!);
    const line = `${picked.join(' ')}${random() < 0.3 ? ',' : '.'}\n`;
    lines.push(line);
    length += line.length;
  }
  return lines.join('').slice(0, size);
}

/** About 1 MiB of application log lines: timestamps, ids and durations vary, the rest repeats. */
function logLines(random: () => number, state: { t: number; id: number }): string {
  const levels = ['INFO', 'INFO', 'INFO', 'INFO', 'DEBUG', 'DEBUG', 'WARN', 'ERROR'];
  const messages = ['request completed', 'cache miss, loading from store', 'connection accepted', 'job finished', 'retrying upstream call', 'session refreshed'];
  const paths = ['/api/v1/items', '/api/v1/users', '/api/v1/orders', '/healthz', '/static/app.js'];
  const out: string[] = [];
  let length = 0;
  while (length < MiB) {
    state.t += Math.floor(random() * 50);
    state.id++;
    const line =
      `${new Date(state.t).toISOString()} ${levels[Math.floor(random() * levels.length)]} [worker-${Math.floor(random() * 8)}] ` +
      `${messages[Math.floor(random() * messages.length)]} id=${state.id} path=${paths[Math.floor(random() * paths.length)]}/${Math.floor(random() * 1000)} ` +
      `took=${Math.floor(random() * random() * 900)}ms status=${random() < 0.95 ? 200 : 503}\n`;
    out.push(line);
    length += line.length;
  }
  return out.join('');
}

/**
 * The mixed data set, `total` bytes in all: 50% large random files (4), about 10% small text files
 * (4-64 KiB), 25% log files, and 15% duplicates (a copy of one large file, copies of small files).
 */
export async function makeDataSet(dir: string, total: number): Promise<DataSet> {
  const random = seededRandom(20260101);
  const parts: Part[] = [];
  const add = (kind: string, files: number, bytes: number) => parts.push({ kind, files, bytes });
  mkdirSync(dir, { recursive: true });

  // Large random files: incompressible, no duplicate chunks.
  mkdirSync(path.join(dir, 'media'));
  const bigSize = Math.floor((total * 0.5) / 4);
  for (let i = 0; i < 4; i++) await writeRandomFile(path.join(dir, 'media', `video-${i}.bin`), bigSize - (i * 4099) % 65536, `large-${i}`);
  add('large random files', 4, [0, 1, 2, 3].reduce((s, i) => s + bigSize - ((i * 4099) % 65536), 0));

  // Small text files, 100 a folder.
  const words = vocabulary(random);
  const small: string[] = [];
  let smallBytes = 0;
  while (smallBytes < total * 0.1) {
    const folder = path.join(dir, 'docs', `d${String(Math.floor(small.length / 100)).padStart(3, '0')}`);
    if (small.length % 100 === 0) mkdirSync(folder, { recursive: true });
    const file = path.join(folder, `note-${String(small.length).padStart(5, '0')}.txt`);
    const size = 4 * KiB + Math.floor(random() * 60 * KiB);
    await fs.writeFile(file, textOfSize(random, words, size), { encoding: 'latin1', flag: 'wx' });
    small.push(file);
    smallBytes += size;
  }
  add('small text files (4-64 KiB)', small.length, smallBytes);

  // Logs: compress well, but every line differs, so chunks do not repeat.
  mkdirSync(path.join(dir, 'logs'));
  const logSize = Math.floor((total * 0.25) / 3);
  const state = { t: Date.UTC(2026, 0, 1), id: 0 };
  for (let i = 0; i < 3; i++) await writeGenerated(path.join(dir, 'logs', `app-${i}.log`), logSize, () => logLines(random, state));
  add('log files (compressible)', 3, logSize * 3);

  // Duplicates: one large file under another name, and small files until 15% is reached.
  mkdirSync(path.join(dir, 'copy', 'docs'), { recursive: true });
  await fs.copyFile(path.join(dir, 'media', 'video-0.bin'), path.join(dir, 'copy', 'video-0-copy.bin'));
  let dupFiles = 1;
  let dupBytes = bigSize;
  for (const file of small) {
    if (dupBytes >= total * 0.15) break;
    await fs.copyFile(file, path.join(dir, 'copy', 'docs', path.basename(file)));
    dupFiles++;
    dupBytes += (await fs.stat(file)).size;
  }
  add('duplicates (1 large, the rest small)', dupFiles, dupBytes);

  return { dir, files: parts.reduce((s, p) => s + p.files, 0), bytes: parts.reduce((s, p) => s + p.bytes, 0), parts };
}

/** The data sets bench:backup can run on (`--data-set`): mixed (the default), a software tree, ≥100,000 small files. */
export const DATA_SETS = ['mixed', 'software', 'small-files'] as const;
export type DataSetName = (typeof DATA_SETS)[number];

/** Writes the data set `name` in `dir`; `total` bytes sizes the mixed set only (the others are sized by file count). */
export async function makeNamedDataSet(name: DataSetName, dir: string, total: number, files?: number): Promise<DataSet> {
  const { makeSmallFiles, makeSoftwareTree } = await import('./small-trees.js');
  if (name === 'software') return makeSoftwareTree(dir);
  if (name === 'small-files') return makeSmallFiles(dir, files);
  return makeDataSet(dir, total);
}
