/**
 * A host's data directory turned read-only while the peer runs (issue 19), with real mounts:
 * the host keeps proving and serving the shards it holds, refuses new ones with READ_ONLY (a
 * proposal refused with the reason, an upload accepted just before refused, its reservation
 * freed at once), says so once per episode, and takes shards again once it is writable.
 * Needs root (mount); skips, saying why, without it.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Peer } from '../../src/peer/peer.js';
import { encodeTerms, propose } from '../../src/contracts/contract.js';
import { RejectReason } from '../../src/contracts/policy.js';
import { refusalText } from '../../src/contracts/refusals.js';
import { Accept, Propose, Reject } from '../../src/contracts/messages.js';
import { ParallelShardHasher } from '../../src/storage/parallel-hasher.js';
import { TransferError } from '../../src/transfer/frames.js';
import { ManualClock } from '../../src/util/clock.js';
import { randomFile } from '../helpers/host-harness.js';
import { GiB, MiB, peerOptions, startPeers, stopAll, tempDir } from '../helpers/peers.js';
import { mountSmallFsOrSkip, type SmallFs } from '../helpers/small-fs.js';
import { ReadOnlyMount } from '../helpers/read-only-mount.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Resolves once `read()` satisfies `done`, polling every 50 ms; fails after `ms`. */
async function waitFor(read: () => string, done: (text: string) => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done(read())) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}; output so far:\n${read()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function digest(file: string) {
  const hasher = new ParallelShardHasher();
  await hasher.write(readFileSync(file));
  return hasher.digest();
}

describe('faults: a host whose data directory turns read-only while it runs', function () {
  this.timeout(120_000);
  let fsys: SmallFs | null = null;
  let ro: ReadOnlyMount | null = null;
  let peers: Peer[] = [];
  const work = tempDir('dbs-read-only-');

  before(function () {
    fsys = mountSmallFsOrSkip(this, 48 * MiB);
  });
  after(async () => {
    ro?.release();
    await stopAll(peers);
    fsys?.unmount();
    rmSync(work, { recursive: true, force: true });
  });

  it('refuses new shards with READ_ONLY, keeps answering audits and downloads, warns once, and recovers when writable', async () => {
    const clock = new ManualClock();
    peers = await startPeers(1, { clock });
    const owner = peers[0]!;
    const dataDir = path.join(fsys!.dir, 'peer');
    const host = await Peer.start(peerOptions({ clock, dataDir, storage: GiB, disk: { reserveBytes: MiB, reserveFraction: 0 }, bootstrap: [owner.address] }));
    peers.push(host);
    const events: string[] = [];
    host.shards.space.on('readOnly', () => events.push('readOnly'));
    host.shards.space.on('writable', () => events.push('writable'));

    // A shard placed while all is well, and a second one accepted but not yet uploaded.
    const held = randomFile(work, 2 * MiB + 7);
    const placed = await owner.placeShard(held.file, { replicas: 1 });
    expect(placed.contracts).to.have.length(1);
    const late = randomFile(work, MiB + 3);
    const d = await digest(late.file);
    const n = await owner.negotiate({ shardHash: d.hash, shardSize: d.size, merkleRoot: d.root, replicas: 1, candidates: [host.address] });
    expect(n.contracts).to.have.length(1);

    // The directory turns read-only under the running peer.
    ro = new ReadOnlyMount(dataDir);
    ro.readOnly();

    // The accepted upload is refused with the reason; nothing kept, the reservation freed at once.
    const err = await owner.upload(n.contracts[0]!, late.file).then(() => null, (e: TransferError) => e);
    expect(err?.code).to.equal('READ_ONLY');
    expect(err?.message).to.equal("the host's data directory is read-only");
    expect(await host.shards.has(d.hash)).to.equal(false);
    expect(readdirSync(path.join(host.shards.dir, 'tmp'))).to.deep.equal([]);
    const late1 = host.contracts().find((c) => c.role === 'host' && c.shardHash === Buffer.from(d.hash).toString('hex'));
    expect(late1?.state).to.equal('released');
    expect(events).to.deep.equal(['readOnly']);

    // It announces nothing free, and a new proposal is refused READ_ONLY (reason 12).
    expect(host.status().storage.free).to.equal(0);
    const p = propose(owner.signing, {
      host: host.publicKey,
      shardHash: new Uint8Array(randomBytes(32)),
      shardSize: MiB,
      merkleRoot: new Uint8Array(32),
      durationSeconds: 86_400,
      auditIntervalSeconds: 3600,
      auditSamples: 4,
      ownerOffer: GiB,
      nowSeconds: Math.floor(clock.now() / 1000),
    });
    const answer = await owner.dht.rpc.requestAny(host.address, Propose, { terms: encodeTerms(p.terms), ownerSignature: p.ownerSignature }, [Accept, Reject]);
    expect(answer.spec).to.equal(Reject);
    expect((answer.body as { reason: number }).reason).to.equal(RejectReason.READ_ONLY);
    expect(refusalText('READ_ONLY')).to.equal("the host's data directory is read-only");

    // What it holds it still proves and serves, byte for byte.
    const contract = placed.contracts[0]!;
    expect((await owner.audit(contract)).passed).to.equal(true);
    expect((await collect(await owner.fetchShard(contract))).equals(held.data)).to.equal(true);

    // Later samples (every 5 s) see it still read-only: no second warning for the same episode.
    for (let i = 0; i < 3; i++) {
      clock.advance(6_000);
      await host.shards.space.refresh();
    }
    expect(host.shards.space.isReadOnly).to.equal(true);
    expect(events).to.deep.equal(['readOnly']);
    expect((await owner.audit(contract)).passed).to.equal(true);

    // Remounted read-write: the next sample ends the episode, and shards are taken again.
    ro.writable();
    await host.shards.space.refresh(); // one that may have started before the remount
    clock.advance(6_000);
    await host.shards.space.refresh();
    expect(events).to.deep.equal(['readOnly', 'writable']);
    expect(host.status().storage.free).to.be.greaterThan(0);
    const again = await owner.placeShard(late.file, { replicas: 1 });
    expect(again.contracts).to.have.length(1);
    expect(await host.shards.has(d.hash)).to.equal(true);
    expect((await owner.audit(again.contracts[0]!)).passed).to.equal(true);
  });

  it('dbs start keeps running on a data directory turned read-only: one warning per episode, one line when writable again', async () => {
    const dataDir = path.join(fsys!.dir, 'daemon');
    const child = spawn(process.execPath, [CLI, 'start', '--data', dataDir, '--port', '0', '--tuning', JSON.stringify({ dataDirCheckMs: 200 })], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    let exitCode: number | null | undefined;
    const exited = new Promise<void>((resolve) => child.on('exit', (code) => resolve(void (exitCode = code))));
    const mount = new ReadOnlyMount(dataDir);
    const count = (text: string) => out.split('\n').filter((l) => l.includes(text)).length;
    try {
      await waitFor(() => out, (t) => t.includes('listening on'), 'the peer to listen');
      mount.readOnly();
      await waitFor(() => out, (t) => t.includes('is read-only'), 'the read-only warning');
      // 15 more checks (200 ms each) see the same episode: still one warning, still running.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(count('is read-only: refusing new shards, still serving the ones held'), out).to.equal(1);
      expect(exitCode, out).to.equal(undefined);
      mount.writable();
      await waitFor(() => out, (t) => t.includes('is writable again: taking'), 'the writable line');
      expect(count('is writable again: taking new shards'), out).to.equal(1);
      // A second episode is a second warning.
      mount.readOnly();
      await waitFor(() => out, (t) => count('is read-only: refusing') === 2, 'the second episode');
      mount.writable();
      await waitFor(() => out, (t) => count('is writable again: taking') === 2, 'the second recovery');
      expect(exitCode, out).to.equal(undefined);
    } finally {
      mount.release();
      child.kill('SIGTERM');
      await exited;
    }
    expect(exitCode, out).to.equal(0);
  });
});
