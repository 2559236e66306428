/**
 * Churn: hosts die one after another (SIGKILL, up to 40% of the network), some come back,
 * and every file still restores byte for byte on a new machine from the recovery key alone.
 * The scenario is test/helpers/churn.ts; DBS_FAULTS=long runs the size (20 peers,
 * 30 files, 8 kills), the default is the CI size (10 peers, 6 files, 2 kills).
 */
import { expect } from 'chai';
import { CHURN_FAST, CHURN_LONG, runChurn } from '../helpers/churn.js';
import { stopAllProcesses } from '../helpers/peer-process.js';
import { LONG } from '../helpers/peers.js';

const SIZE = LONG ? CHURN_LONG : CHURN_FAST;
const log = process.env.DBS_FAULTS_VERBOSE ? (line: string) => console.log(`      ${line}`) : () => {};

describe(`churn: ${SIZE.peers} peer processes, ${SIZE.files} files, ${SIZE.kills} hosts killed one after another`, function () {
  this.timeout(LONG ? 1_800_000 : 240_000);
  after(() => stopAllProcesses());

  it('repairs every lost replica after the grace period, and a new machine restores every file byte for byte', async () => {
    const r = await runChurn(SIZE, log);
    // The kills hit replicas, and each one lost was placed again elsewhere.
    expect(r.kills).to.have.length(SIZE.kills);
    for (const k of r.kills) {
      expect(k.lostReplicas, k.host).to.be.greaterThan(0);
      expect(k.replaced, k.host).to.be.at.least(k.lostReplicas);
    }
    expect(r.kills.filter((k) => k.restarted)).to.have.length(SIZE.restarts);
    expect(r.underReplicated).to.deep.equal([]);
    expect(r.incomplete).to.deep.equal([]);
    expect(r.restoredFiles).to.equal(SIZE.files);
    expect(r.restored).to.deep.equal(r.expected);
  });
});
