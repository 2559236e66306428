/**
 * Where a peer keeps its recovery key: `identity.key` in the data directory, mode 0600,
 * written atomically. The file holds the text form, so a person can read and copy it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-file.js';
import { IDENTITY_FILE } from './identity-file.js';
import { formatRecoveryKey, generateRecoverySecret, parseRecoveryKey } from './recovery-key.js';

export { IDENTITY_FILE };

export interface LoadedIdentity {
  secret: Uint8Array;
  /** True when this call created the identity (the caller should show the key once). */
  created: boolean;
}

/**
 * Loads the data directory's identity, or creates one (from `recoveryKey` when given).
 * Refuses to start with a recovery key that differs from the one already in the directory.
 */
export async function loadOrCreateIdentity(dataDir: string, recoveryKey?: string | Uint8Array): Promise<LoadedIdentity> {
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, IDENTITY_FILE);
  const given = typeof recoveryKey === 'string' ? parseRecoveryKey(recoveryKey) : recoveryKey;
  let existing: string | undefined;
  try {
    existing = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (existing !== undefined) {
    const secret = parseRecoveryKey(existing);
    if (given && !Buffer.from(given).equals(secret)) {
      throw new Error(`${dataDir} already belongs to another identity; use an empty data directory to recover a different key`);
    }
    const mode = (await fs.stat(file)).mode & 0o777;
    if (mode & 0o077) await fs.chmod(file, 0o600);
    return { secret, created: false };
  }
  const secret = given ?? generateRecoverySecret();
  await writeFileAtomic(file, `${formatRecoveryKey(secret)}\n`, 0o600);
  return { secret, created: given === undefined };
}
