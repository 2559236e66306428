/**
 * The small-file data sets of bench:backup (issue 15), pseudo-random and the same from run to
 * run: a software tree shaped like a node_modules folder, a set of ≥100,000 small files across
 * folders, and the in-place edit of a fraction of a tree's files for the "1% changed" re-backup.
 */
import { mkdirSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { seededRandom } from '../common.js';
import type { DataSet } from './data-set.js';
import { KiB } from './settings.js';

const LICENSE = `MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software and associated documentation files (the "Software"), to deal\nin the Software without restriction.\n`;

/** Source-like text: identifiers and punctuation repeat, as in JavaScript. */
function sourceText(random: () => number, size: number): string {
  const words = ['function', 'return', 'const', 'exports', 'module', 'require', 'this', 'value', 'options', 'callback', 'length', 'undefined', 'prototype', 'index', 'if', 'else', 'null', 'true'];
  let out = '';
  while (out.length < size) {
    const n = 3 + Math.floor(random() * 8);
    const line: string[] = [];
    for (let i = 0; i < n; i++) line.push(words[Math.floor(random() * words.length)]! + (random() < 0.2 ? `_${Math.floor(random() * 999)}` : ''));
    out += `${'  '.repeat(Math.floor(random() * 4))}${line.join(random() < 0.5 ? ' ' : '.')};\n`;
  }
  return out.slice(0, size);
}

/**
 * A node_modules-like tree of `packages` packages, each with package.json, README.md, LICENSE
 * (the same bytes in many packages, as in real trees), an index.js and lib/ (and sometimes
 * lib/internal/) of small sources, a nested node_modules now and then. Files 100 B - 40 KiB.
 */
export async function makeSoftwareTree(dir: string, packages = 1500): Promise<DataSet> {
  const random = seededRandom(20260115);
  let files = 0;
  let bytes = 0;
  const write = async (file: string, text: string) => {
    await fs.writeFile(file, text, { encoding: 'latin1', flag: 'wx' });
    files++;
    bytes += text.length;
  };
  for (let p = 0; p < packages; p++) {
    const nested = p > 10 && random() < 0.1;
    const pkg = nested ? path.join(dir, 'node_modules', `pkg-${p - 1 - Math.floor(random() * 10)}`, 'node_modules', `pkg-${p}`) : path.join(dir, 'node_modules', `pkg-${p}`);
    const lib = path.join(pkg, 'lib');
    mkdirSync(lib, { recursive: true });
    await write(path.join(pkg, 'package.json'), JSON.stringify({ name: `pkg-${p}`, version: `1.${p % 17}.${p % 5}`, main: 'index.js', license: 'MIT' }, null, 2));
    await write(path.join(pkg, 'README.md'), `# pkg-${p}\n\n${sourceText(random, 200 + Math.floor(random() * 3 * KiB))}`);
    if (random() < 0.7) await write(path.join(pkg, 'LICENSE'), LICENSE);
    await write(path.join(pkg, 'index.js'), sourceText(random, 100 + Math.floor(random() * 2 * KiB)));
    const sources = Math.floor(random() * random() * 20);
    for (let s = 0; s < sources; s++) await write(path.join(lib, `m${s}.js`), sourceText(random, 200 + Math.floor(random() * random() * 40 * KiB)));
    if (random() < 0.2) {
      mkdirSync(path.join(lib, 'internal'));
      for (let s = 0; s < 3; s++) await write(path.join(lib, 'internal', `i${s}.js`), sourceText(random, 100 + Math.floor(random() * 4 * KiB)));
    }
  }
  return { dir, files, bytes, parts: [{ kind: `software tree (node_modules-like, ${packages} packages)`, files, bytes }] };
}

/** `count` small files (100 B - 8 KiB of text), `perFolder` a folder, folders two levels deep. */
export async function makeSmallFiles(dir: string, count = 100_000, perFolder = 100): Promise<DataSet> {
  const random = seededRandom(20260116);
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const folder = Math.floor(i / perFolder);
    const sub = path.join(dir, `g${String(Math.floor(folder / 100)).padStart(3, '0')}`, `f${String(folder % 100).padStart(2, '0')}`);
    if (i % perFolder === 0) mkdirSync(sub, { recursive: true });
    const text = sourceText(random, 100 + Math.floor(random() * random() * 8 * KiB));
    await fs.writeFile(path.join(sub, `file-${String(i).padStart(6, '0')}.txt`), text, { encoding: 'latin1', flag: 'wx' });
    bytes += text.length;
  }
  return { dir, files: count, bytes, parts: [{ kind: `small files (${count}, ${perFolder} a folder)`, files: count, bytes }] };
}

/**
 * Edits `fraction` of the files under `dir` in place (a line appended to every n-th file, in
 * sorted walk order, so the same files each run): the "1% changed" re-backup. Returns how many.
 */
export async function changeFiles(dir: string, fraction: number): Promise<number> {
  const every = Math.max(1, Math.round(1 / fraction));
  let seen = 0;
  let changed = 0;
  const walk = async (at: string): Promise<void> => {
    for (const entry of (await fs.readdir(at, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && seen++ % every === 0) {
        await fs.appendFile(full, `// edited for the re-backup (${changed})\n`);
        changed++;
      }
    }
  };
  await walk(dir);
  return changed;
}
