/**
 * Clocks (issue 19): peers whose clocks differ. Each peer has its own ManualClock; the test
 * measures which offsets a proposal survives, and runs a whole contract (proposal, upload,
 * audit, download, the contract's end, the owner's root record) at ±10 minutes.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Peer } from '../../src/peer/peer.js';
import { CLOCK_TOLERANCE_SECONDS } from '../../src/contracts/contract.js';
import { toHex } from '../../src/util/bytes.js';
import { type Clock, ManualClock, systemClock } from '../../src/util/clock.js';
import { randomFile } from '../helpers/host-harness.js';
import { MiB, peerOptions, stopAll, tempDir } from '../helpers/peers.js';

const BASE = 1_800_000_000_000;
const MIN = 60_000;
/** No periodic bookkeeping while clocks are moved by hand: the tests call maintain() themselves. */
const QUIET = { maintenanceIntervalMs: 10 * 365 * 86_400_000 };

/** Real time and timers, shifted: for whole backups, which wait on real timers. */
function shifted(offsetMs: number): Clock {
  return { ...systemClock, now: () => Date.now() + offsetMs };
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

describe('faults: peers whose clocks differ', function () {
  this.timeout(120_000);
  let peers: Peer[] = [];
  const work = tempDir('dbs-clocks-');
  afterEach(() => stopAll(peers).then(() => (peers = [])));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('measures the offsets at which a proposal is accepted: all of ±10 min, refused beyond ±20 min', async () => {
    const ownerClock = new ManualClock(BASE);
    // The host starts 30 min behind the owner and is moved forward step by step.
    const hostClock = new ManualClock(BASE - 30 * MIN);
    const owner = await Peer.start(peerOptions({ clock: ownerClock, ...QUIET }));
    const host = await Peer.start(peerOptions({ clock: hostClock, ...QUIET, bootstrap: [owner.address] }));
    peers = [owner, host];
    const table: string[] = [];
    const accepted: number[] = [];
    for (let offsetMin = 30; offsetMin >= -30; offsetMin -= 5) {
      hostClock.advance(BASE - offsetMin * MIN - hostClock.now());
      const n = await owner
        .negotiate({ shardHash: new Uint8Array(randomBytes(32)), shardSize: MiB, merkleRoot: new Uint8Array(32), replicas: 1, candidates: [host.address] })
        .then(
          (r) => (r.contracts.length === 1 ? 'ACCEPT' : r.refusals.map((x) => x.reason).join(',')),
          (e: { refusals?: { reason: string }[] }) => e.refusals?.map((x) => x.reason).join(',') ?? 'error',
        );
      table.push(`${offsetMin > 0 ? '+' : ''}${offsetMin} min: ${n}`);
      if (n === 'ACCEPT') accepted.push(offsetMin);
    }
    console.log(`      owner clock minus host clock → answer: ${table.join('; ')}`);
    for (const m of [-10, -5, 0, 5, 10]) expect(accepted, `${m} min`).to.include(m);
    expect(accepted.every((m) => m <= 15 && m >= -20)).to.equal(true);
  });

  for (const skewMin of [+10, -10]) {
    it(`runs a whole contract with the owner's clock ${skewMin > 0 ? 'ahead of' : 'behind'} the host's by 10 min: upload, audit, download, end, root record`, async () => {
      const ownerClock = new ManualClock(BASE + skewMin * MIN);
      const hostClocks = [new ManualClock(BASE), new ManualClock(BASE)];
      const DAY = 86_400;
      const options = { ...QUIET, contracts: { contractSeconds: DAY } };
      const owner = await Peer.start(peerOptions({ clock: ownerClock, ...options }));
      peers = [owner];
      for (const clock of hostClocks) peers.push(await Peer.start(peerOptions({ clock, ...options, bootstrap: [owner.address] })));
      const [host] = peers.slice(1) as [Peer];
      const { file, data } = randomFile(work, 3 * MiB + 5);
      const placed = await owner.placeShard(file, { replicas: 2 });
      expect(placed.contracts).to.have.length(2);
      const contract = placed.contracts.find((c) => toHex(c.counterpart) === toHex(host.publicKey))!;
      expect((await owner.audit(contract)).passed).to.equal(true);
      expect((await collect(await owner.fetchShard(contract))).equals(data)).to.equal(true);

      // Near the end of the term by the owner's clock (5 min left), the host still keeps it,
      // whichever clock is ahead; once it ended by both clocks, both let it go.
      const advanceAll = (ms: number) => [ownerClock, ...hostClocks].forEach((c) => c.advance(ms));
      advanceAll(DAY * 1000 - 5 * MIN);
      await host.contractService.maintain();
      expect(host.contracts().find((c) => c.id === toHex(contract.contract.id))!.state).to.equal('active');
      expect((await owner.audit(contract)).passed).to.equal(true);
      advanceAll(5 * MIN + CLOCK_TOLERANCE_SECONDS * 1000 + (skewMin > 0 ? 10 * MIN : 0) + 1000);
      await host.contractService.maintain();
      await owner.contractService.maintain();
      expect(host.contracts().find((c) => c.id === toHex(contract.contract.id))!.state).to.equal('expired');
      expect(owner.contracts().find((c) => c.id === toHex(contract.contract.id))!.state).to.equal('expired');
    });
  }

  it('a root record published by a clock 10 min ahead is superseded by a later backup from a clock 10 min behind', async () => {
    const owner = await Peer.start(peerOptions({ clock: shifted(10 * MIN), ...QUIET }));
    peers = [owner];
    for (const clock of [systemClock, systemClock]) peers.push(await Peer.start(peerOptions({ clock, ...QUIET, bootstrap: [owner.address] })));
    const source = path.join(work, 'root-src');
    mkdirSync(source, { recursive: true });
    writeFileSync(path.join(source, 'a.txt'), 'first');
    const first = await owner.backup(source, { replicas: 1 });
    const recoveryKey = owner.recoveryKey;
    await owner.stop();
    peers = peers.filter((p) => p !== owner);

    // The same identity on a machine whose clock is 20 min behind the first one's.
    const behind = await Peer.start(peerOptions({ clock: shifted(-10 * MIN), ...QUIET, recoveryKey, bootstrap: [peers[0]!.address] }));
    peers.push(behind);
    expect((await behind.snapshots()).map((s) => s.id)).to.deep.equal([first.id]);
    writeFileSync(path.join(source, 'b.txt'), 'second');
    const second = await behind.backup(source, { replicas: 1 });

    // A third machine sees both snapshots: the later record won although its clock said earlier.
    const fresh = await Peer.start(peerOptions({ clock: systemClock, ...QUIET, recoveryKey, bootstrap: [peers[0]!.address] }));
    peers.push(fresh);
    expect((await fresh.snapshots()).map((s) => s.id).sort()).to.deep.equal([first.id, second.id].sort());
  });
});
