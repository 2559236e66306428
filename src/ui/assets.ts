/**
 * The files the page is made of, all shipped in the package: our own (src/ui/web, plain ES
 * modules, no build step) and the libraries' ES modules from node_modules (preact, its hooks,
 * htm, uPlot). A fixed table from URL to file, made once: no path from a request ever reaches
 * the filesystem. index.html is rendered once with the import map inline (its SHA-256 goes
 * into the Content-Security-Policy, so no other inline script can run) and a modulepreload link
 * for every module of the first screen.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  file: string;
  type: string;
  /** The file's bytes, read once at start-up for the small files (all but uPlot): no file opened per request. */
  body?: Buffer;
}

/** The modules the overview needs (app.js imports these statically; the rest lazily). */
const FIRST_SCREEN = ['/api.js', '/components.js', '/format.js', '/pages/overview.js', '/vendor/preact.mjs', '/vendor/hooks.mjs', '/vendor/htm.mjs'];

/** Files up to this size are served from memory (ours and preact/htm: about 60 KB in all). */
const IN_MEMORY_BYTES = 64 * 1024;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** src/ui/web, from dist/src/ui (compiled) or src/ui (the same relative place in the package). */
export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/ui/web');

function vendorFiles(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const preact = path.dirname(require.resolve('preact/package.json'));
  const uplot = path.dirname(require.resolve('uplot/package.json'));
  // htm's package.json is not exported; its main file is, and the ES module sits beside it.
  const htm = path.dirname(require.resolve('htm'));
  return {
    '/vendor/preact.mjs': path.join(preact, 'dist/preact.mjs'),
    '/vendor/hooks.mjs': path.join(preact, 'hooks/dist/hooks.mjs'),
    '/vendor/htm.mjs': path.join(htm, 'htm.mjs'),
    '/vendor/uPlot.esm.js': path.join(uplot, 'dist/uPlot.esm.js'),
    '/vendor/uPlot.min.css': path.join(uplot, 'dist/uPlot.min.css'),
  };
}

const IMPORT_MAP = JSON.stringify({ imports: { preact: '/vendor/preact.mjs', 'preact/hooks': '/vendor/hooks.mjs', htm: '/vendor/htm.mjs', uplot: '/vendor/uPlot.esm.js' } });

export interface Assets {
  /** URL path → file. */
  files: Map<string, Asset>;
  /** The page itself (with the import map). */
  indexHtml: string;
  /** base64 SHA-256 of each inline script (the import map), for script-src. */
  scriptHashes: string[];
}

/** Lists src/ui/web (one level of folders) and the vendored modules; renders index.html. */
export async function loadAssets(webDir = WEB_DIR): Promise<Assets> {
  const files = new Map<string, Asset>();
  const add = (url: string, file: string) => {
    const type = TYPES[path.extname(file)];
    if (type) files.set(url, { file, type });
  };
  for (const entry of await fs.readdir(webDir, { withFileTypes: true })) {
    if (entry.isFile()) add(`/${entry.name}`, path.join(webDir, entry.name));
    else if (entry.isDirectory()) for (const name of await fs.readdir(path.join(webDir, entry.name))) add(`/${entry.name}/${name}`, path.join(webDir, entry.name, name));
  }
  for (const [url, file] of Object.entries(vendorFiles())) add(url, file);
  for (const asset of files.values()) {
    const { size } = await fs.stat(asset.file);
    if (size <= IN_MEMORY_BYTES) asset.body = await fs.readFile(asset.file);
  }
  const template = await fs.readFile(path.join(webDir, 'index.html'), 'utf8');
  // The first screen's modules are announced up front, so the browser fetches them in one round
  // instead of one round per level of imports (app.js → overview → components → vendor). The other
  // pages (and uPlot, 145 KB) are imported when needed or when the page is idle (app.js).
  const preload = FIRST_SCREEN.filter((url) => files.has(url)).map((url) => `<link rel="modulepreload" href="${url}">`).join('\n');
  const indexHtml = template.replace('<!--IMPORT_MAP-->', `<script type="importmap">${IMPORT_MAP}</script>\n${preload}`);
  files.delete('/index.html');
  return { files, indexHtml, scriptHashes: [createHash('sha256').update(IMPORT_MAP).digest('base64')] };
}
