/**
 * What a backup leaves out (restic's `--exclude`, `--exclude-file`, `--exclude-if-present`,
 * `--one-file-system`), as one predicate the walk asks for each entry before reading it. A
 * directory left out is not descended into.
 *
 * - Patterns are gitignore's (the `ignore` package, which implements the gitignore spec and is
 *   what eslint and prettier use): relative to the backup's source, `/build` anchored at it,
 *   `*.o` anywhere, `cache/` directories only, `!keep.o` re-includes, `**` any depth.
 * - `--exclude-if-present NAME[:HEADER]`: a directory holding NAME (whose first bytes are HEADER,
 *   if given) keeps only NAME, as restic does; `CACHEDIR.TAG` checks the Cache Directory
 *   Tagging Specification's signature, so a stray file of that name excludes nothing.
 * - `--one-file-system`: entries on another device than the source are left out, except a
 *   mount point itself (kept as an empty directory, as restic keeps it).
 */
import { promises as fs } from 'node:fs';
import ignore, { type Ignore } from 'ignore';

/** The Cache Directory Tagging Specification's signature (https://bford.info/cachedir/). */
export const CACHEDIR_TAG = 'CACHEDIR.TAG';
export const CACHEDIR_SIGNATURE = 'Signature: 8a477f597d28d172789f06886806bc55';

/** Tag-file results remembered (directories); a depth-first walk asks for the same one in a row. */
const TAG_CACHE_DIRS = 256;

export interface ExcludeOptions {
  /** gitignore-style patterns (`--exclude`, repeatable). */
  patterns?: string[];
  /** Files of patterns, one a line, `#` comments (`--exclude-file`). Read once when the predicate is made. */
  patternFiles?: string[];
  /** `NAME` or `NAME:HEADER` (`--exclude-if-present`); `CACHEDIR.TAG` alone implies its signature. */
  ifPresent?: string[];
  /** Stay on the source's file system (`--one-file-system`). */
  oneFileSystem?: boolean;
}

export type ExcludeEntryType = 'file' | 'dir' | 'symlink' | 'other';

/** An entry the walk is about to read: its path relative to the source ('/'-separated) and absolute. */
export interface ExcludeCandidate {
  relPath: string;
  absPath: string;
  type: ExcludeEntryType;
  dev: number;
}

/** True: leave the entry (and whatever is under it) out. */
export type ExcludeEntry = (entry: ExcludeCandidate) => Promise<boolean>;

export class ExcludeError extends Error {
  constructor(readonly code: 'BAD_EXCLUDE' | 'EXCLUDE_FILE_UNREADABLE', message: string) {
    super(message);
    this.name = 'ExcludeError';
  }
}

/** Reads the first `length` bytes of a file, or null if there is no such file. */
export type ReadStart = (absPath: string, length: number) => Promise<Buffer | null>;

const nodeReadStart: ReadStart = async (absPath, length) => {
  const handle = await fs.open(absPath, 'r').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
    throw err;
  });
  if (!handle) return null;
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
};

/** A tag file spec: its name and the header its content must start with ('' = presence is enough). */
export interface TagSpec {
  name: string;
  header: string;
}

/** Parses `NAME` or `NAME:HEADER`; bare `CACHEDIR.TAG` gets the standard signature. */
export function parseTagSpec(spec: string): TagSpec {
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  const header = colon < 0 ? (name === CACHEDIR_TAG ? CACHEDIR_SIGNATURE : '') : spec.slice(colon + 1);
  if (!name || name.includes('/')) throw new ExcludeError('BAD_EXCLUDE', `--exclude-if-present needs a file name (NAME or NAME:HEADER), got "${spec}"`);
  return { name, header };
}

/** Pure gitignore matching of source-relative paths. */
export class PatternMatcher {
  private readonly rules: Ignore;
  readonly empty: boolean;

  constructor(patterns: readonly string[]) {
    this.rules = ignore().add(patterns as string[]);
    this.empty = patterns.every((p) => p.trim() === '' || p.trim().startsWith('#'));
  }

  /** `relPath` relative to the source, '/'-separated, no leading '/'; directories matched as such (`cache/`). */
  matches(relPath: string, isDir: boolean): boolean {
    if (this.empty || relPath === '') return false;
    return this.rules.ignores(isDir ? `${relPath}/` : relPath);
  }
}

/** Pure: whether an entry on `dev` is left out under --one-file-system, given its parent's device. */
export function otherFileSystem(rootDev: number, entry: { type: ExcludeEntryType; dev: number }, parentDev: number): boolean {
  if (entry.dev === rootDev) return false;
  // A directory on another device under a directory on ours is a mount point: kept, empty.
  return !(entry.type === 'dir' && parentDev === rootDev);
}

/**
 * Builds the predicate for one backup of `source`. Reads the pattern files and the source's
 * device now; tag files as directories are met. Returns null when nothing is excluded.
 */
export async function createExclude(source: string, options: ExcludeOptions, readStart: ReadStart = nodeReadStart): Promise<ExcludeEntry | null> {
  const patterns = [...(options.patterns ?? [])];
  for (const file of options.patternFiles ?? []) {
    const text = await fs.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new ExcludeError('EXCLUDE_FILE_UNREADABLE', `cannot read exclude file ${file}: ${err.code ?? err.message}`);
    });
    patterns.push(...text.split(/\r?\n/));
  }
  const matcher = new PatternMatcher(patterns);
  const tags = (options.ifPresent ?? []).map(parseTagSpec);
  if (matcher.empty && tags.length === 0 && !options.oneFileSystem) return null;
  const rootDev = options.oneFileSystem ? (await fs.lstat(source)).dev : 0;
  // Mount points kept (empty): their children are on another device and their parent was ours.
  // Every other directory the walk descends into is on the source's device.
  const mountPoints = new Set<string>();
  const tagged = new Map<string, boolean>();

  const dirTagged = async (dirAbs: string): Promise<boolean> => {
    const known = tagged.get(dirAbs);
    if (known !== undefined) return known;
    let result = false;
    for (const tag of tags) {
      const start = await readStart(`${dirAbs}/${tag.name}`, Math.max(1, Buffer.byteLength(tag.header)));
      if (start !== null && start.subarray(0, Buffer.byteLength(tag.header)).toString('utf8') === tag.header) result = true;
      if (result) break;
    }
    if (tagged.size >= TAG_CACHE_DIRS) tagged.delete(tagged.keys().next().value!);
    tagged.set(dirAbs, result);
    return result;
  };

  return async (entry) => {
    const slash = entry.relPath.lastIndexOf('/');
    const parentRel = slash < 0 ? '' : entry.relPath.slice(0, slash);
    const name = entry.relPath.slice(slash + 1);
    if (matcher.matches(entry.relPath, entry.type === 'dir')) return true;
    if (options.oneFileSystem) {
      const parentDev = mountPoints.has(parentRel) ? NaN : rootDev;
      if (otherFileSystem(rootDev, entry, parentDev)) return true;
      if (entry.dev !== rootDev) mountPoints.add(entry.relPath);
    }
    if (tags.length > 0 && !tags.some((t) => t.name === name)) {
      const parentAbs = entry.absPath.slice(0, entry.absPath.length - name.length - 1);
      if (await dirTagged(parentAbs)) return true;
    }
    return false;
  };
}
