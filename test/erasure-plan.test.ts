import { expect } from 'chai';
import { ErasureError } from '../src/erasure/errors.js';
import { PieceFetchRace, pickHosts, planRepair, repairThreshold } from '../src/erasure/plan.js';

const holders = (indexes: number[], rank: (i: number) => number = () => 0) => indexes.map((index) => ({ index, rank: rank(index) }));

describe('erasure restore and repair plans (pure)', function () {
  this.timeout(5000);

  it('starts K + 1 requests, data pieces first, and cancels the slow ones once K arrived', () => {
    const race = new PieceFetchRace({ k: 2, n: 4 }, holders([3, 2, 1, 0]));
    expect(race.begin()).to.deep.equal({ start: [0, 1, 2], cancel: [], status: 'fetching' });
    expect(race.arrived(2)).to.deep.equal({ start: [], cancel: [], status: 'fetching' });
    expect(race.arrived(0)).to.deep.equal({ start: [], cancel: [1], status: 'done' });
    expect(race.arrivedPieces()).to.deep.equal([2, 0]);
    // Late news about a cancelled request changes nothing.
    expect(race.arrived(1)).to.deep.equal({ start: [], cancel: [], status: 'done' });
    expect(race.failed(1).status).to.equal('done');
  });

  it('asks better-ranked hosts first, whatever the piece kind', () => {
    const race = new PieceFetchRace({ k: 3, n: 6 }, holders([0, 1, 2, 3, 4, 5], (i) => (i < 3 ? 50 : 10)), 0);
    expect(race.begin().start).to.deep.equal([3, 4, 5]);
  });

  it('replaces a failed or corrupted piece from the reserve, and declares the shard lost when none is left', () => {
    const race = new PieceFetchRace({ k: 2, n: 4 }, holders([0, 1, 2, 3]));
    race.begin(); // 0, 1, 2
    expect(race.failed(0)).to.deep.equal({ start: [3], cancel: [], status: 'fetching' });
    expect(race.failed(1)).to.deep.equal({ start: [], cancel: [], status: 'fetching' }); // 2 and 3 still out
    expect(race.failed(3)).to.deep.equal({ start: [], cancel: [2], status: 'lost' });
    // Holders for fewer than K pieces: lost at once.
    expect(new PieceFetchRace({ k: 3, n: 6 }, holders([4, 5])).begin()).to.deep.equal({ start: [], cancel: [], status: 'lost' });
  });

  it('starts one reserve beside a slow request without giving up on it', () => {
    const race = new PieceFetchRace({ k: 2, n: 5 }, holders([0, 1, 2, 3, 4]), 0);
    expect(race.begin().start).to.deep.equal([0, 1]);
    expect(race.slowed(1).start).to.deep.equal([2]);
    expect(race.slowed(1).start).to.deep.equal([]); // once per request
    expect(race.arrived(0).status).to.equal('fetching');
    expect(race.arrived(2)).to.deep.equal({ start: [], cancel: [1], status: 'done' });
  });

  it('refuses a piece index outside the scheme', () => {
    expect(() => new PieceFetchRace({ k: 2, n: 4 }, holders([4]))).to.throw(ErasureError);
    expect(() => new PieceFetchRace({ k: 2, n: 4 }, holders([0]), -1)).to.throw(ErasureError);
  });

  it('sets the repair threshold at K plus half the parity, below N', () => {
    expect(repairThreshold({ k: 1, n: 3 })).to.equal(2);
    expect(repairThreshold({ k: 2, n: 4 })).to.equal(3);
    expect(repairThreshold({ k: 3, n: 6 })).to.equal(5);
    expect(repairThreshold({ k: 4, n: 6 })).to.equal(5);
    expect(repairThreshold({ k: 10, n: 16 })).to.equal(13);
    expect(repairThreshold({ k: 3, n: 3 })).to.equal(2);
  });

  it('plans repairs: nothing above the threshold, every missing piece from K live ones at it, lost below K', () => {
    const P = 1000;
    expect(planRepair({ scheme: { k: 10, n: 16 }, live: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], pieceSize: P, localCopy: false }).action).to.equal('none');
    const plan = planRepair({ scheme: { k: 10, n: 16 }, live: [15, 14, 13, 12, 11, 1, 2, 3, 4, 5, 6, 7, 8], pieceSize: P, localCopy: false });
    expect(plan).to.deep.equal({ action: 'repair', rebuild: [0, 9, 10], sources: [1, 2, 3, 4, 5, 6, 7, 8, 11, 12], downloadBytes: 10 * P, uploadBytes: 3 * P });
    expect(planRepair({ scheme: { k: 2, n: 4 }, live: [0, 3, 2], pieceSize: P, localCopy: false })).to.deep.equal({
      action: 'repair',
      rebuild: [1],
      sources: [0, 2],
      downloadBytes: 2 * P,
      uploadBytes: P,
    });
    expect(planRepair({ scheme: { k: 2, n: 4 }, live: [3], pieceSize: P, localCopy: false })).to.deep.equal({
      action: 'lost',
      rebuild: [0, 1, 2],
      sources: [],
      downloadBytes: 0,
      uploadBytes: 0,
    });
    // The owner's own copy saves the download, and even saves a shard with too few pieces left.
    expect(planRepair({ scheme: { k: 2, n: 4 }, live: [3], pieceSize: P, localCopy: true })).to.deep.equal({
      action: 'repair',
      rebuild: [0, 1, 2],
      sources: 'local',
      downloadBytes: 0,
      uploadBytes: 3 * P,
    });
    expect(planRepair({ scheme: { k: 2, n: 4 }, live: [0, 1, 2, 3], pieceSize: P, localCopy: false, threshold: 4 }).action).to.equal('none');
    expect(planRepair({ scheme: { k: 2, n: 4 }, live: [0, 1, 2], pieceSize: P, localCopy: false, threshold: 2 }).action).to.equal('none');
  });

  it('picks distinct hosts for new pieces, new network prefixes first', () => {
    const c = (host: string, prefix: string) => ({ host, prefix });
    const candidates = [c('a', 'p1'), c('b', 'p1'), c('c', 'p2'), c('d', 'p3'), c('e', 'p2')];
    expect(pickHosts(candidates, 3).map((h) => h.host)).to.deep.equal(['a', 'c', 'd']);
    expect(pickHosts(candidates, 4, [c('d', 'p3')]).map((h) => h.host)).to.deep.equal(['a', 'c', 'b', 'e']);
    expect(pickHosts([c('a', 'p1'), c('a', 'p1')], 2).map((h) => h.host)).to.deep.equal(['a']);
  });
});
