import { expect } from 'chai';
import { forget, type RetentionPort } from '../src/peer/retention.js';
import { utcCalendar } from '../src/retention/calendar.js';
import { RetentionError } from '../src/retention/errors.js';

const H = 3_600_000;
const snaps = [0, 1, 2].map((i) => ({ id: `s${i}`, createdAt: i * H, source: '/src' }));

function port(remove?: string[][]): RetentionPort {
  return { snapshots: async () => snaps, now: () => 10 * H, ...(remove ? { removeSnapshots: async (ids: string[]) => void remove.push(ids) } : {}) };
}

describe('peer retention: Peer.forget over its ports', function () {
  this.timeout(5000);

  it('a dry run plans and removes nothing, even where removal is possible', async () => {
    const calls: string[][] = [];
    const r = await forget(port(calls), { policy: { last: 1 }, dryRun: true, calendar: utcCalendar });
    expect(r).to.deep.include({ dryRun: true, remove: ['s1', 's0'], removed: [] });
    expect(r.groups[0]!.keep).to.deep.equal([{ id: 's2', createdAt: 2 * H, reasons: ['last snapshot'] }]);
    expect(calls).to.deep.equal([]);
  });

  it('removes through the port once the engine offers it; without it, NOT_SUPPORTED_YET', async () => {
    const calls: string[][] = [];
    const r = await forget(port(calls), { policy: { last: 2 }, calendar: utcCalendar });
    expect(calls).to.deep.equal([['s0']]);
    expect(r.removed).to.deep.equal(['s0']);
    await forget(port(), { policy: { last: 2 } }).then(() => expect.fail('must refuse'), (e: RetentionError) => expect(e.code).to.equal('NOT_SUPPORTED_YET'));
    // nothing to remove: no error, nothing asked of the port
    expect((await forget(port(), { policy: { last: 5 } })).remove).to.deep.equal([]);
    // A port without prune refuses --prune (typed), before anything is removed.
    await forget(port(), { policy: { last: 5 }, prune: true }).then(() => expect.fail('prune must refuse'), (e: RetentionError) => expect([e.code, e.message]).to.deep.equal(['NOT_SUPPORTED_YET', 'prune is not supported by this peer']));
    const removedFirst: string[][] = [];
    await forget(port(removedFirst), { policy: { last: 2 }, prune: true }).then(() => expect.fail('prune must refuse'), (e: RetentionError) => expect(e.code).to.equal('NOT_SUPPORTED_YET'));
    expect(removedFirst).to.deep.equal([]);
  });
});
