/**
 * Makes one file fail to open with EACCES while `run` runs, counting the attempts. Root opens
 * any file whatever its mode, so the tests replace node:fs's open calls instead: the promise
 * one and the synchronous one (a backup reads small files with synchronous calls,
 * src/backup/file-saver.ts).
 */
import fsSync, { promises as fsp } from 'node:fs';

export async function withUnopenable<T>(file: string, run: () => Promise<T>): Promise<{ result: T; opens: number }> {
  const original = fsp.open;
  const originalSync = fsSync.openSync;
  let opens = 0;
  const refuse = (p: unknown): void => {
    if (String(p) !== file) return;
    opens++;
    throw Object.assign(new Error(`EACCES: permission denied, open '${file}'`), { code: 'EACCES' });
  };
  (fsp as { open: typeof fsp.open }).open = (async (p: Parameters<typeof fsp.open>[0], ...rest: unknown[]) => {
    refuse(p);
    return (original as (...a: unknown[]) => ReturnType<typeof fsp.open>)(p, ...rest);
  }) as typeof fsp.open;
  (fsSync as { openSync: typeof fsSync.openSync }).openSync = ((p: Parameters<typeof fsSync.openSync>[0], ...rest: unknown[]) => {
    refuse(p);
    return (originalSync as (...a: unknown[]) => number)(p, ...rest);
  }) as typeof fsSync.openSync;
  try {
    return { result: await run(), opens };
  } finally {
    (fsp as { open: typeof fsp.open }).open = original;
    (fsSync as { openSync: typeof fsSync.openSync }).openSync = originalSync;
  }
}
