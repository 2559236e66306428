/**
 * The watcher's changed paths as a question the tree builder can ask of each directory: "could
 * anything under here have changed?" A path changing touches itself and every directory above
 * it (a created or deleted entry changes its parent's listing), so the set holds every prefix.
 * A directory not in it keeps its parent-snapshot subtree without being read.
 */
export class ChangedPaths {
  private readonly touched = new Set<string>(['']);

  /** `paths`: relative to the backed-up root, '/'-separated, as the watcher reports them. */
  constructor(paths: Iterable<string>) {
    for (const raw of paths) {
      const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
      let prefix = '';
      for (const part of parts) {
        prefix = prefix ? `${prefix}/${part}` : part;
        this.touched.add(prefix);
      }
    }
  }

  /** True when the directory at `relPath` ('' is the root) or something below it changed. */
  mayHaveChanged(relPath: string): boolean {
    return this.touched.has(relPath);
  }
}
