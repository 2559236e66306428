/**
 * A host's own failed writes as refusals (storage/write-failures.ts, transfer/disk-outcomes.ts),
 * without a disk: which error means which refusal, and that the matching episode starts. The
 * same paths on real file systems: faults/host-db-full, read-only-host, read-only-kernel.
 */
import { expect } from 'chai';
import type { StoredContract } from '../src/contracts/store.js';
import { diskRefusal } from '../src/storage/write-failures.js';
import { TransferError } from '../src/transfer/frames.js';
import { recordStored, releaseQuietly } from '../src/transfer/disk-outcomes.js';

const err = (code: string) => Object.assign(new Error(code), { code });

function space(readOnlyNow: boolean) {
  const calls: string[] = [];
  return {
    calls,
    ranOut: () => void calls.push('full'),
    ranReadOnly: () => void calls.push('read-only'),
    confirmReadOnly: () => {
      calls.push('probe');
      if (readOnlyNow) calls.push('read-only');
      return readOnlyNow;
    },
  };
}

describe('disk refusals of the host', () => {
  it('classifies full, read-only and I/O errors, starting the episode each stands for', () => {
    const s = space(false);
    expect(diskRefusal(err('SQLITE_FULL'), s)).to.equal('DISK_FULL');
    expect(diskRefusal(err('ENOSPC'), s)).to.equal('DISK_FULL');
    expect(diskRefusal(err('EROFS'), s)).to.equal('READ_ONLY');
    expect(diskRefusal(err('SQLITE_READONLY'), s)).to.equal('READ_ONLY');
    // An I/O error is read-only only if a probe says so; otherwise it is not the disk's refusal.
    expect(diskRefusal(err('SQLITE_IOERR_WRITE'), s)).to.equal(null);
    expect(diskRefusal(err('SQLITE_CONSTRAINT'), s)).to.equal(null);
    expect(s.calls).to.deep.equal(['full', 'full', 'read-only', 'read-only', 'probe']);
    const ro = space(true);
    expect(diskRefusal(err('SQLITE_IOERR_WRITE'), ro)).to.equal('READ_ONLY');
    expect(diskRefusal(err('EIO'), ro)).to.equal('READ_ONLY');
  });

  it('refuses an upload whose final database write fails with the disk reason, and releases quietly', () => {
    const contract = {} as StoredContract;
    const failing = (code: string) => ({
      get: () => undefined,
      stored: () => {
        throw err(code);
      },
      abandoned: () => {
        throw err(code);
      },
    });
    const full = recordStored.bind(null, failing('SQLITE_FULL'), space(false), contract);
    expect(full).to.throw(TransferError).with.property('code', 'DISK_FULL');
    const ro = recordStored.bind(null, failing('SQLITE_IOERR_WRITE'), space(true), contract);
    expect(ro).to.throw(TransferError).with.property('code', 'READ_ONLY');
    expect(recordStored.bind(null, failing('SQLITE_MISUSE'), space(false), contract)).to.throw(Error, 'SQLITE_MISUSE');
    expect(recordStored({ get: () => undefined, stored: () => true }, space(false), contract)).to.equal(true);
    expect(() => releaseQuietly(failing('SQLITE_FULL'), contract)).to.not.throw();
  });
});
