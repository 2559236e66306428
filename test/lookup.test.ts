import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { iterativeLookup } from '../src/dht/lookup.js';
import { LOOKUP_ATTEMPTS } from '../src/dht/constants.js';
import { type Contact, contactFromAddress } from '../src/net/node-id.js';
import { compareDistance } from '../src/dht/id.js';
import { toHex } from '../src/util/bytes.js';

/** A synthetic network: each node knows only its `fanout` neighbours in ID order, so reaching the target takes many hops. */
function chainNetwork(n: number) {
  const nodes = Array.from({ length: n }, (_, i) => contactFromAddress({ host: `10.2.${i >> 8}.${i & 255}`, port: 7 }));
  nodes.sort((a, b) => Buffer.compare(a.id, b.id));
  return nodes;
}

describe('iterative lookup (no sockets)', function () {
  this.timeout(5000);
  const self = randomBytes(20);

  it('follows referrals over many rounds until the k closest have answered', async () => {
    const target = randomBytes(20);
    // Ranked by distance to the target; the node of rank r only knows ranks r/2 .. r/2+2,
    // so from the farthest seed the lookup must take about log2(200) hops.
    const ranked = chainNetwork(200).sort((a, b) => compareDistance(target, a.id, b.id));
    const rank = new Map(ranked.map((c, i) => [toHex(c.id), i]));
    const result = await iterativeLookup({
      target,
      self,
      seeds: [ranked[199]!],
      k: 5,
      alpha: 3,
      query: async (c: Contact) => {
        const half = Math.floor(rank.get(toHex(c.id))! / 2);
        return { contacts: ranked.slice(half, half + 3) };
      },
    });
    expect(result.rounds).to.be.at.least(8);
    expect(result.contacts.map((c) => toHex(c.id))).to.deep.equal(ranked.slice(0, 5).map((c) => toHex(c.id)));
  });

  it('returns exactly the k closest of a fully known set and queries each at most once', async () => {
    const nodes = chainNetwork(100);
    const target = randomBytes(20);
    const asked = new Map<string, number>();
    const result = await iterativeLookup({
      target,
      self,
      seeds: nodes.slice(0, 3),
      k: 20,
      alpha: 3,
      query: async (c) => {
        asked.set(toHex(c.id), (asked.get(toHex(c.id)) ?? 0) + 1);
        return { contacts: [...nodes].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, 20) };
      },
    });
    const truth = [...nodes].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, 20).map((c) => toHex(c.id));
    expect(result.contacts.map((c) => toHex(c.id))).to.deep.equal(truth);
    expect([...asked.values()].every((n) => n === 1)).to.equal(true);
    expect(result.messages).to.equal(asked.size);
  });

  it('keeps α queries in flight and lets a failed peer free its slot', async () => {
    const nodes = chainNetwork(60);
    const target = randomBytes(20);
    const sorted = [...nodes].sort((a, b) => compareDistance(target, a.id, b.id));
    const dead = new Set(sorted.slice(0, 3).map((c) => toHex(c.id)));
    let inFlight = 0;
    let maxInFlight = 0;
    const result = await iterativeLookup({
      target,
      self,
      seeds: nodes,
      k: 10,
      alpha: 3,
      query: async (c) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setImmediate(r));
        inFlight--;
        if (dead.has(toHex(c.id))) throw new Error('timeout');
        return { contacts: [] };
      },
    });
    expect(maxInFlight).to.equal(3);
    expect(result.failures).to.equal(3);
    expect(result.contacts.map((c) => toHex(c.id))).to.deep.equal(sorted.slice(3, 13).map((c) => toHex(c.id)));
  });

  it('does not let slow peers hold the α slots, and still uses their late answers', async () => {
    const nodes = chainNetwork(40);
    const target = randomBytes(20);
    const sorted = [...nodes].sort((a, b) => compareDistance(target, a.id, b.id));
    const slow = new Set(sorted.slice(0, 3).map((c) => toHex(c.id)));
    const timers: (() => void)[] = [];
    const releases: (() => void)[] = [];
    let others = 0;
    const turn = () => new Promise((r) => setImmediate(r));
    const lookup = iterativeLookup({
      target,
      self,
      seeds: nodes,
      k: 10,
      alpha: 3,
      slowAfterMs: 100,
      setTimer: (fn) => {
        timers.push(fn);
        return { cancel() {} };
      },
      query: async (c) => {
        if (slow.has(toHex(c.id))) await new Promise<void>((r) => releases.push(r));
        else others++;
        return { contacts: [] };
      },
    });
    await turn();
    // The three closest are asked first and hang: nothing else is asked yet.
    expect(releases).to.have.length(3);
    expect(others).to.equal(0);
    // Once they count as slow, the lookup goes on without them.
    timers.splice(0).forEach((fire) => fire());
    for (let i = 0; i < 20; i++) await turn();
    expect(others).to.equal(7);
    releases.forEach((release) => release());
    const result = await lookup;
    expect(result.contacts.map((c) => toHex(c.id))).to.deep.equal(sorted.slice(0, 10).map((c) => toHex(c.id)));
    expect(result.messages).to.equal(10);
  });

  it('takes at most k referrals from any one reply', async () => {
    const nodes = chainNetwork(60);
    const seed = nodes[0]!;
    const asked = new Set<string>();
    await iterativeLookup({
      target: randomBytes(20),
      self,
      seeds: [seed],
      k: 5,
      alpha: 3,
      query: async (c) => {
        asked.add(toHex(c.id));
        return { contacts: c === seed ? nodes.slice(1) : [] };
      },
    });
    expect(asked.size).to.be.at.most(6);
  });

  it('never queries or returns itself', async () => {
    const nodes = chainNetwork(10);
    const me = nodes[0]!;
    const result = await iterativeLookup({
      target: randomBytes(20),
      self: me.id,
      seeds: nodes,
      k: 20,
      alpha: 3,
      query: async (c) => {
        expect(toHex(c.id)).not.to.equal(toHex(me.id));
        return { contacts: [me] };
      },
    });
    expect(result.contacts.map((c) => toHex(c.id))).not.to.include(toHex(me.id));
    expect(result.contacts).to.have.length(9);
  });

  it('stops early when told a value is final', async () => {
    const nodes = chainNetwork(50);
    const result = await iterativeLookup<string>({
      target: randomBytes(20),
      self,
      seeds: nodes,
      k: 20,
      alpha: 1,
      query: async () => ({ contacts: [], value: 'found' }),
      stopWhen: () => true,
    });
    expect(result.messages).to.equal(1);
    expect(result.values).to.have.length(1);
  });
  describe('under loss: one rule (LOOKUP_ATTEMPTS)', () => {
    it('asks a failed contact again when nobody has answered and nobody else is left', async () => {
      const [only, found] = chainNetwork(2);
      const asked: string[] = [];
      let lost = 1;
      const result = await iterativeLookup({
        target: randomBytes(20),
        self,
        seeds: [only!],
        k: 20,
        alpha: 3,
        attempts: 2,
        query: async (c) => {
          asked.push(toHex(c.id));
          if (c === only && lost-- > 0) throw new Error('lost');
          return { contacts: c === only ? [found!] : [] };
        },
      });
      expect(asked).to.deep.equal([toHex(only!.id), toHex(only!.id), toHex(found!.id)]);
      expect(result.failures).to.equal(1);
      expect(result.messages).to.equal(3);
      expect(result.contacts).to.have.length(2);
    });

    it('gives up after `attempts` tries of each contact', async () => {
      const seeds = chainNetwork(2);
      let queries = 0;
      const result = await iterativeLookup({
        target: randomBytes(20),
        self,
        seeds,
        k: 20,
        alpha: 3,
        attempts: 3,
        query: async () => {
          queries++;
          throw new Error('lost');
        },
      });
      expect(queries).to.equal(6);
      expect(result.failures).to.equal(6);
      expect(result.contacts).to.deep.equal([]);
    });

    it('does not ask a failed contact again once anyone has answered', async () => {
      const nodes = chainNetwork(3);
      const target = randomBytes(20);
      const sorted = [...nodes].sort((a, b) => compareDistance(target, a.id, b.id));
      const asked = new Map<string, number>();
      const result = await iterativeLookup({
        target,
        self,
        seeds: nodes,
        k: 20,
        alpha: 3,
        attempts: 5,
        query: async (c) => {
          asked.set(toHex(c.id), (asked.get(toHex(c.id)) ?? 0) + 1);
          if (c === sorted[0]) throw new Error('lost');
          return { contacts: [] };
        },
      });
      expect([...asked.values()]).to.deep.equal([1, 1, 1]);
      expect(result.failures).to.equal(1);
      expect(result.contacts).to.have.length(2);
    });

    it('asks a lone failing contact LOOKUP_ATTEMPTS times by default', async () => {
      const seeds = chainNetwork(1);
      let queries = 0;
      await iterativeLookup({
        target: randomBytes(20),
        self,
        seeds,
        k: 20,
        alpha: 3,
        query: async () => {
          queries++;
          throw new Error('lost');
        },
      });
      expect(queries).to.equal(LOOKUP_ATTEMPTS);
    });
  });
});
