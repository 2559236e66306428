import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { DhtNode } from '../src/dht/node.js';
import { ManualClock } from '../src/util/clock.js';
import { ValueStore } from '../src/dht/value-store.js';
import { immutableKey } from '../src/dht/records.js';
import { closeAll, startNetwork } from './helpers/network.js';

describe('DHT value lifetime', function () {
  this.timeout(20_000);

  describe('value store (no sockets)', () => {
    it('expires values and respects its limits', () => {
      const clock = new ManualClock();
      const store = new ValueStore(clock, { maxEntries: 2, maxBytes: 100, maxEntriesPerSource: 10 });
      const a = Buffer.from('a');
      expect(store.put(immutableKey(a), { value: a }, 1000, 'x')).to.equal('stored');
      const b = randomBytes(90);
      expect(store.put(immutableKey(b), { value: b }, 1000, 'x')).to.equal('stored');
      const c = Buffer.from('c');
      expect(store.put(immutableKey(c), { value: c }, 1000, 'x')).to.equal('STORE_FULL');
      clock.advance(999);
      expect(store.get(immutableKey(a))).to.not.equal(undefined);
      clock.advance(1);
      expect(store.get(immutableKey(a))).to.equal(undefined);
      expect(store.sweep()).to.equal(1);
      expect(store.size).to.equal(0);
      expect(store.totalBytes).to.equal(0);
      const big = randomBytes(101);
      // One source may hold only its share of the entries.
      const shared = new ValueStore(clock, { maxEntries: 100, maxBytes: 10_000, maxEntriesPerSource: 2 });
      const put = (v: string, source: string) => shared.put(immutableKey(Buffer.from(v)), { value: Buffer.from(v) }, 1000, source);
      expect([put('1', 'a'), put('2', 'a'), put('3', 'a'), put('4', 'b')]).to.deep.equal(['stored', 'stored', 'STORE_FULL', 'stored']);
      expect(store.put(immutableKey(big), { value: big }, 1000, 'x')).to.equal('STORE_FULL');
    });
  });

  describe('on a network with an injected clock', () => {
    const clock = new ManualClock();
    let nodes: DhtNode[] = [];
    before(async () => {
      nodes = await startNetwork(8, {
        clock,
        valueTtlMs: 60_000,
        republishIntervalMs: 30_000,
        replicateIntervalMs: 3_600_000,
        refreshIntervalMs: 3_600_000,
        // Maintenance is driven by hand below.
        maintenanceIntervalMs: 86_400_000,
      });
    });
    after(() => closeAll(nodes));

    it('lets a value expire when nobody republishes it', async () => {
      const put = await nodes[1]!.put(Buffer.from('short-lived'));
      expect(put.stored).to.equal(8);
      expect(await nodes[2]!.get(put.key)).to.not.equal(null);
      expect(nodes[1]!.unpublish(put.key)).to.equal(true);
      clock.advance(60_001);
      for (const n of nodes) await n.maintain();
      expect(nodes.map((n) => n.stats().values)).to.deep.equal(nodes.map(() => 0));
      expect(await nodes[2]!.get(put.key)).to.equal(null);
    });

    it('keeps a value alive while its publisher republishes it', async () => {
      const put = await nodes[3]!.put(Buffer.from('long-lived'));
      for (let i = 0; i < 4; i++) {
        clock.advance(30_000);
        await nodes[3]!.maintain();
      }
      // 120 s after the first put, twice the TTL: alive only because it was republished.
      const got = await nodes[4]!.get(put.key);
      expect(Buffer.from(got!.value).toString()).to.equal('long-lived');
    });

    it('refreshes buckets nobody looked through for a while', async () => {
      const before = nodes[6]!.stats().lookups;
      clock.advance(3_600_000);
      await nodes[6]!.maintain();
      expect(nodes[6]!.stats().lookups).to.be.greaterThan(before);
    });
  });
});
