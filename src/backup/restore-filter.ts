/**
 * `dbs restore --include/--exclude`: which of a snapshot's paths to restore, by gitignore-style
 * patterns (the `ignore` package, as for backup excludes) matched against the path inside the
 * snapshot ('/'-separated, relative to the snapshot's root). Pure.
 *
 * - `--exclude P`: an entry matching P, or under a directory matching it, is left out.
 * - `--include P` (if any is given): only entries matching one, or under a directory matching
 *   one, are restored, plus the directories that hold them (so an included file has its place).
 * Excludes win over includes, as in restic.
 */
import ignore, { type Ignore } from 'ignore';

export interface RestoreFilterOptions {
  include?: string[];
  exclude?: string[];
}

/** Whether `relPath` (or a directory above it) matches `rules`. */
function matchesOrUnder(rules: Ignore, relPath: string, isDir: boolean): boolean {
  const parts = relPath.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const dir = i < parts.length || isDir;
    if (rules.ignores(parts.slice(0, i).join('/') + (dir ? '/' : ''))) return true;
  }
  return false;
}

/** The predicate for one entry on its own (no parent directories added); null when nothing is filtered. */
export function restoreFilter(options: RestoreFilterOptions): ((relPath: string, isDir: boolean) => boolean) | null {
  const include = (options.include ?? []).filter((p) => p.trim() !== '');
  const exclude = (options.exclude ?? []).filter((p) => p.trim() !== '');
  if (include.length === 0 && exclude.length === 0) return null;
  const inc = include.length ? ignore().add(include) : null;
  const exc = exclude.length ? ignore().add(exclude) : null;
  return (relPath, isDir) => {
    if (relPath === '') return true;
    if (exc && matchesOrUnder(exc, relPath, isDir)) return false;
    return !inc || matchesOrUnder(inc, relPath, isDir);
  };
}

/**
 * Entries (in snapshot order) that pass the filter, plus every directory holding one of them.
 * Two passes over the list; the set holds only the directories of the kept entries.
 */
export function filterForRestore<E extends { path: string; type: string }>(entries: readonly E[], options: RestoreFilterOptions): E[] {
  const keep = restoreFilter(options);
  if (!keep) return [...entries];
  const holders = new Set<string>();
  const chosen = entries.map((e) => {
    const ok = keep(e.path, e.type === 'dir');
    for (let p = e.path; ok && p.includes('/') && !holders.has((p = p.slice(0, p.lastIndexOf('/'))));) holders.add(p);
    return ok;
  });
  return entries.filter((e, i) => chosen[i] || (e.type === 'dir' && holders.has(e.path)));
}
