import { expect } from 'chai';
import { UnsentCancels } from '../src/contracts/unsent-cancels.js';

describe('UnsentCancels', () => {
  it('offers a notice again hourly until it is sent, and gives it up after a week', () => {
    const u = new UnsentCancels();
    const id = Uint8Array.of(7);
    u.add(id, '127.0.0.1:1', 0);
    expect(u.due(3_599_999)).to.deep.equal([]);
    expect(u.due(3_600_000).map((e) => e.address)).to.deep.equal(['127.0.0.1:1']);
    expect(u.due(3_600_001), 'pushed back an hour').to.deep.equal([]);
    expect(u.due(7_200_000)).to.have.length(1);
    u.sent(id);
    expect(u.size).to.equal(0);
    u.add(id, '127.0.0.1:1', 0);
    expect(u.due(7 * 86_400_000)).to.deep.equal([]);
    expect(u.size, 'given up').to.equal(0);
  });

  it('keeps at most max notices', () => {
    const u = new UnsentCancels({ retryMs: 1, giveUpMs: 100, max: 2 });
    for (let i = 0; i < 3; i++) u.add(Uint8Array.of(i), 'a:1', 0);
    expect(u.size).to.equal(2);
  });
});
