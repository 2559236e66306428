import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Peer } from '../src/index.js';
import { LOCK_FILE } from '../src/util/dir-lock.js';
import { peerOptions, tempDir } from './helpers/peers.js';

describe('peer: one process per data directory', function () {
  this.timeout(20_000);

  it('a second peer on the same directory is refused until the first stops', async () => {
    const dataDir = tempDir();
    const first = await Peer.start(peerOptions({ dataDir }));
    try {
      expect(readFileSync(path.join(dataDir, LOCK_FILE), 'utf8').trim()).to.equal(String(process.pid));
      let error: Error | undefined;
      await Peer.start(peerOptions({ dataDir })).catch((err: Error) => (error = err));
      expect(error?.message).to.match(/already in use by a peer in this process/);
    } finally {
      await first.stop();
    }
    expect(existsSync(path.join(dataDir, LOCK_FILE))).to.equal(false);
    const again = await Peer.start(peerOptions({ dataDir }));
    await again.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a lock held by a live process is refused with its PID; one left by a dead process is taken over', async () => {
    const dataDir = tempDir();
    // PID 1 always exists: a live holder.
    writeFileSync(path.join(dataDir, LOCK_FILE), '1\n');
    let error: Error | undefined;
    await Peer.start(peerOptions({ dataDir })).catch((err: Error) => (error = err));
    expect(error?.message).to.match(/in use by another peer \(process 1\)/);
    // A process that has exited: its lock is stale.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(path.join(dataDir, LOCK_FILE), `${dead.stdout}\n`);
    const peer = await Peer.start(peerOptions({ dataDir }));
    expect(readFileSync(path.join(dataDir, LOCK_FILE), 'utf8').trim()).to.equal(String(process.pid));
    await peer.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
});
