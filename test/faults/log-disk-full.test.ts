/**
 * The daemon's log on a disk that filled up (issue 19): `dbs.log` lives in the data directory,
 * so the disk-full warning is written to the very disk that is full. Writing it failed with
 * ENOSPC thrown out of the warning (the line never reached the terminal, and the caller got
 * ENOSPC instead of its own error). Now the terminal gets every line, plus one note per streak
 * of failed file writes, and the file takes lines again once there is room. A 1 MiB tmpfs
 * mounted by the test; skips, saying why, without root.
 */
import { expect } from 'chai';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { LOG_FILE, openPeerLog } from '../../src/cli/log.js';
import { mountSmallFsOrSkip, type SmallFs } from '../helpers/small-fs.js';

describe("faults: the daemon's log on a full disk", function () {
  this.timeout(30_000);
  let fsys: SmallFs | null = null;

  before(function () {
    fsys = mountSmallFsOrSkip(this, 1024 * 1024);
  });
  after(() => fsys?.unmount());

  it('keeps every line on the terminal, notes the failing file once, and writes the file again with room', () => {
    const shown: string[] = [];
    const log = openPeerLog(fsys!.dir, (line) => shown.push(line));
    log.info('started', {}, 'started');
    const filler = fsys!.fill(0);
    const big = 'x'.repeat(16 * 1024);
    expect(() => log.warn('disk-full', { big }, 'the disk is full')).to.not.throw();
    expect(() => log.warn('disk-full', { big }, 'still full')).to.not.throw();
    expect(shown.map((l) => l.slice(9))).to.deep.equal([
      'started',
      `could not write ${LOG_FILE} (ENOSPC): events are shown here only until it can be written again`,
      'the disk is full',
      'still full',
    ]);
    rmSync(filler);
    log.info('disk-recovered', {}, 'room again');
    log.close();
    const events = readFileSync(path.join(fsys!.dir, LOG_FILE), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event);
    expect(events[0]).to.equal('started');
    expect(events.at(-1)).to.equal('disk-recovered');
  });
});
