/** Temporary folders for tests and benchmarks (no library imports: benchmarks measure their RSS). */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function tempDir(prefix = 'dbs-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}
