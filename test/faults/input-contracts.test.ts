/**
 * Semantically hostile proposals against a live peer in its own process (issue 19). The datagram
 * fuzzer's PROPOSEs stop at message validation or at the address proof (the fuzzers never send
 * the cookie back), so they never reach the reciprocity policy. These are valid messages with
 * valid-looking terms, sent by clients that do the address proof as an honest owner does:
 * wrong and foreign signatures, absurd sizes, durations and audit policies, expired and future
 * times, proposals for another host, owners offering nothing, contradictory pieces, more than the
 * prefix's allowance, and replays (while pending, and after the owner cancelled).
 *
 * Checked: every proposal gets an answer, and the one its kind allows; the host's counters add up;
 * the policy ran exactly once per proposal that passed the checks before it, seen by V8's own
 * coverage of the target process (NODE_V8_COVERAGE), not by a hook in the code; the target never
 * throws in a handler, and an honest owner still gets a shard placed, uploaded and audited.
 * Fast form: 1,500 proposals; DBS_FAULTS=long: 15,000.
 */
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Peer } from '../../src/peer/peer.js';
import { FuzzTarget, LONG, prng } from '../helpers/fuzz.js';
import { randomFile } from '../helpers/host-harness.js';
import { MiB, peerOptions, tempDir } from '../helpers/peers.js';
import { ProposeClient, type ProposeAnswer } from '../helpers/propose-client.js';
import { HOSTILE_KINDS, type HostileKind, ProposeFuzzer } from '../helpers/propose-fuzzer.js';

const PROPOSALS = LONG ? 15_000 : 1_500;
const SOURCES = 8;
/** ms between one source's proposals: each is up to 5 datagrams, under the 100/s per-source limit. */
const PACE_MS = 30;
/** The refusals only the policy gives (contracts/policy.ts, decideProposal). */
const POLICY_REFUSALS = ['NO_STORAGE_OFFERED', 'DEFAULTER', 'READ_ONLY', 'NO_SPACE', 'DISK_FULL', 'UNBALANCED'] as const;
const DAY = 86_400_000;

/** How often V8 saw `fn` of the compiled `file` called in the process that wrote `dir`'s coverage. */
function callCount(dir: string, file: string, fn: string): number {
  let calls = 0;
  for (const name of readdirSync(dir).filter((n) => n.startsWith('coverage-'))) {
    const { result } = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as { result: Array<{ url: string; functions: Array<{ functionName: string; ranges: Array<{ count: number }> }> }> };
    for (const script of result.filter((s) => s.url.endsWith(file))) {
      for (const f of script.functions.filter((f) => f.functionName === fn)) calls += f.ranges[0]?.count ?? 0;
    }
  }
  return calls;
}

describe('bad input: semantically hostile proposals that reach the contract policy', function () {
  this.timeout(LONG ? 1_800_000 : 180_000);
  const dataDir = tempDir('dbs-propose-target-');
  const coverage = mkdtempSync(path.join(os.tmpdir(), 'dbs-coverage-'));
  let target: FuzzTarget;
  let honest: Peer | null = null;
  const clients: ProposeClient[] = [];

  before(async () => {
    // 8 MiB of credit for the fuzzers' /24 (127.0.5.0/24); 256 MiB offered, so 4 GiB shards do not fit.
    target = await FuzzTarget.start({ dataDir, storage: 256 * MiB, allowance: 8 * MiB }, { NODE_V8_COVERAGE: coverage });
    for (let i = 0; i < SOURCES; i++) clients.push(await ProposeClient.open(`127.0.5.${10 + i}`, target.address));
  });
  after(async () => {
    for (const c of clients) c.close();
    if (honest) {
      await honest.stop();
      rmSync(honest.dataDir, { recursive: true, force: true });
    }
    await target?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(coverage, { recursive: true, force: true });
  });

  it(`answers ${PROPOSALS.toLocaleString('en')} of them as their kind allows, runs the policy on each that passed the checks, and stays healthy`, async () => {
    const seed = Number(process.env['DBS_FUZZ_SEED'] ?? 0xc0de);
    const rand = prng(seed);
    const fuzzer = new ProposeFuzzer(rand, target.publicKey, () => Math.floor(Date.now() / 1000));
    const answers = new Map<HostileKind, Map<ProposeAnswer, number>>();
    const wrong: string[] = [];
    const note = (kind: HostileKind, answer: ProposeAnswer) => {
      const byAnswer = answers.get(kind) ?? new Map<ProposeAnswer, number>();
      byAnswer.set(answer, (byAnswer.get(answer) ?? 0) + 1);
      answers.set(kind, byAnswer);
      if (!(HOSTILE_KINDS[kind] as readonly string[]).includes(answer)) wrong.push(`${kind}: ${answer}`);
    };
    let cancels = 0;
    const before = await target.status();

    // Each source sends its share one proposal at a time, all sources at once.
    await Promise.all(
      clients.map(async (client, i) => {
        const share = Math.floor(PROPOSALS / SOURCES) + (i < PROPOSALS % SOURCES ? 1 : 0);
        for (let n = 0; n < share; n++) {
          const p = fuzzer.next();
          const first = await client.propose(p);
          if (p.replay) {
            note(p.kind, await client.propose(p));
          } else if (p.cancelThenReplay) {
            // Only an accepted proposal can be replayed after its cancellation; a refused one was a small proposal.
            if (first === 'ACCEPT' && (await client.cancel(p))) {
              cancels++;
              note(p.kind, await client.propose(p));
            } else note('small', first);
          } else note(p.kind, first);
          await new Promise((r) => setTimeout(r, PACE_MS));
        }
      }),
    );

    const after = await target.status();
    expect(target.alive, target.stderr).to.equal(true);
    expect(wrong, 'answers their kind does not allow').to.deep.equal([]);
    const counted = (kind: HostileKind, answer: ProposeAnswer) => answers.get(kind)?.get(answer) ?? 0;
    // Every kind was made and answered, and the policy's own refusals and acceptances all happened.
    for (const kind of Object.keys(HOSTILE_KINDS) as HostileKind[]) expect(answers.get(kind)?.size ?? 0, kind).to.be.at.least(1);
    expect(counted('small', 'ACCEPT')).to.be.at.least(1);
    expect(counted('small', 'UNBALANCED')).to.be.at.least(1);
    expect(counted('huge-size', 'NO_SPACE')).to.be.at.least(1);
    expect(counted('no-offer', 'NO_STORAGE_OFFERED')).to.be.at.least(1);
    expect(counted('replay-cancelled', 'REPLAYED')).to.equal(cancels);
    expect(cancels).to.be.at.least(1);
    const d = after.status.dht;
    expect(d.handlerErrors).to.equal(0);
    expect(d.rateLimited - before.status.dht.rateLimited).to.equal(0);
    const proofs = clients.reduce((sum, c) => sum + c.cookieRoundTrips, 0);
    expect(proofs).to.be.greaterThan(PROPOSALS / 2);

    // An honest owner is still served: a shard placed on the target, uploaded, and audited.
    honest = await Peer.start(peerOptions({ bootstrap: [target.address], maintenanceIntervalMs: 20 * DAY }));
    const { file } = randomFile(dataDir, MiB + 5);
    const placed = await honest.placeShard(file, { replicas: 1 });
    expect(placed.contracts).to.have.length(1);
    expect((await honest.audit(placed.contracts[0]!)).passed).to.equal(true);

    // The policy ran once for every proposal that passed the checks before it: V8 counted the calls.
    const final = await target.status();
    const host = final.host;
    const policyDecisions = host.accepted + POLICY_REFUSALS.reduce((sum, r) => sum + (host.rejected[r] ?? 0), 0);
    await target.stop();
    const calls = callCount(coverage, '/dist/src/contracts/policy.js', 'decideProposal');
    expect(calls).to.equal(policyDecisions);
    expect(calls).to.be.greaterThan(PROPOSALS / 5);

    const table = Object.fromEntries([...answers].map(([k, m]) => [k, Object.fromEntries(m)]));
    console.log(`      figures: ${JSON.stringify({ proposals: PROPOSALS, seed, answers: table, cancels, addressProofs: proofs, policyCalls: calls, hostCounters: host, rssMiB: Math.round(final.memory.rss / MiB) })}`);
  });
});
