/**
 * The host's bookkeeping around an upload when its own disk is what failed (full, or turned
 * read-only): the reservation goes back at once where the database can still be written, and a
 * database that cannot be written refuses the upload with the disk's reason instead of INTERNAL.
 */
import type { StoredContract } from '../contracts/store.js';
import type { DiskSpace } from '../storage/disk-space.js';
import { READ_ONLY_TEXT } from '../storage/read-only.js';
import { diskRefusal } from '../storage/write-failures.js';
import { TransferError } from './frames.js';
import type { ContractLedger } from './server.js';

/**
 * A full or read-only disk will not take this shard later either: the reserved space goes back
 * now. If the database cannot be written either, the reservation lapses by itself.
 */
export function releaseQuietly(contracts: ContractLedger, contract: StoredContract): void {
  try {
    contracts.abandoned?.(contract);
  } catch {
    // Left to the reservation's own timeout.
  }
}

/**
 * Records the upload as kept (false: the contract is no longer pending). A database that cannot
 * be written (a full or read-only disk) refuses the upload with that reason and starts the
 * disk's episode; the shard file, whose contract never became active, is left to the orphan
 * sweep, and the reservation lapses by itself.
 */
export function recordStored(contracts: ContractLedger, space: Pick<DiskSpace, 'ranOut' | 'ranReadOnly' | 'confirmReadOnly'>, contract: StoredContract): boolean {
  try {
    return contracts.stored(contract);
  } catch (err) {
    const why = diskRefusal(err, space);
    if (why === 'DISK_FULL') throw new TransferError('DISK_FULL', "the host's disk is full");
    if (why === 'READ_ONLY') throw new TransferError('READ_ONLY', READ_ONLY_TEXT);
    throw err;
  }
}
