/**
 * Full disks, owner side (issue 19): a restore into a destination that is too small is refused
 * before it writes anything, and one that fills up half-way stops with one typed error, leaves
 * only whole files under real names, and succeeds once there is room.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Peer } from '../../src/peer/peer.js';
import { RestoreDiskFullError } from '../../src/backup/restore-space.js';
import { classify, ExitCode } from '../../src/cli/errors.js';
import { MiB, startPeers, stopAll, tempDir } from '../helpers/peers.js';
import { mountSmallFs, type SmallFs } from '../helpers/small-fs.js';

/** Every file under `dir`, relative paths. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? walk(p, base) : [path.relative(base, p)];
  });
}

describe('faults: a full disk on the owner side (restore)', function () {
  this.timeout(120_000);
  const mounts: SmallFs[] = [];
  let peers: Peer[] = [];
  const work = tempDir('dbs-restore-full-');
  const source = path.join(work, 'src');
  let snapshotId = '';

  before(async function () {
    const probe = mountSmallFs(MiB);
    if (typeof probe === 'string') return this.skip();
    probe.unmount();
    mkdirSync(path.join(source, 'small'), { recursive: true });
    writeFileSync(path.join(source, 'large.bin'), randomBytes(6 * MiB));
    for (let i = 0; i < 40; i++) writeFileSync(path.join(source, 'small', `f${i}.bin`), randomBytes(20 * 1024 + i));
    peers = await startPeers(3);
    const result = await peers[0]!.backup(source, { replicas: 2 });
    expect(result.shortfall).to.equal(0);
    snapshotId = result.id;
  });
  after(async () => {
    await stopAll(peers);
    for (const m of mounts) m.unmount();
    rmSync(work, { recursive: true, force: true });
  });

  function mount(size: number): SmallFs {
    const m = mountSmallFs(size);
    if (typeof m === 'string') throw new Error(m);
    mounts.push(m);
    return m;
  }

  it('refuses to start when the destination has less room than the files, and writes nothing', async () => {
    const small = mount(4 * MiB);
    const dest = path.join(small.dir, 'restored');
    const err = await peers[0]!.restore(snapshotId, dest).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(RestoreDiskFullError);
    expect((err as Error).message).to.match(/^not enough space in .*restored: the restore needs 6\.\d MiB and the disk has [34]\.\d MiB free; nothing was written$/);
    expect(classify(err).exitCode).to.equal(ExitCode.diskFull);
    expect(existsSync(dest)).to.equal(false);
  });

  it('stops with one typed error when the destination fills half-way, keeps only whole files, and succeeds once there is room', async () => {
    const small = mount(12 * MiB);
    const dest = path.join(small.dir, 'restored');
    let filler: string | null = null;
    const err = await peers[0]!
      .restore(snapshotId, dest, {
        // Another program fills the disk as soon as the restore has begun writing.
        onProgress: (p) => {
          if (!filler && p.bytes > 0) filler = small.fill(64 * 1024);
        },
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(filler).to.not.equal(null);
    expect(err).to.be.instanceOf(RestoreDiskFullError);
    expect((err as Error).message).to.match(/^the disk holding .*restored filled up during the restore/);
    expect(classify(err).exitCode).to.equal(ExitCode.diskFull);
    // Whatever has a real name is whole; no temporary file is left.
    const left = existsSync(dest) ? walk(dest) : [];
    for (const name of left) {
      expect(name).to.not.match(/dbs-restore-/);
      expect(readFileSync(path.join(dest, name)).equals(readFileSync(path.join(source, name))), name).to.equal(true);
    }
    expect(left.length).to.be.lessThan(41);

    // Room again: the same restore into an empty folder completes byte for byte.
    rmSync(filler!);
    rmSync(dest, { recursive: true, force: true });
    const result = await peers[0]!.restore(snapshotId, dest);
    expect(result.incomplete).to.deep.equal([]);
    const all = walk(dest).sort();
    expect(all).to.deep.equal(walk(source).sort());
    for (const name of all) expect(readFileSync(path.join(dest, name)).equals(readFileSync(path.join(source, name))), name).to.equal(true);
  });
});
