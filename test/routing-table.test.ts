import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { RoutingTable, type TableContact } from '../src/dht/routing-table.js';
import { type Contact, contactFromAddress } from '../src/net/node-id.js';
import { commonPrefixLength, compareDistance, randomIdInBucket } from '../src/dht/id.js';
import { toHex } from '../src/util/bytes.js';

function table(opts: Partial<ConstructorParameters<typeof RoutingTable>[1]> = {}, localId: Uint8Array = randomBytes(20)) {
  const full: { oldest: TableContact; candidate: Contact }[] = [];
  const t = new RoutingTable(localId, {
    k: 20,
    maxPerIpPerBucket: Infinity,
    maxFailures: 2,
    freshForMs: 0,
    onBucketFull: (oldest, candidate) => full.push({ oldest, candidate }),
    ...opts,
  });
  return { t, full };
}

/** A contact with a made-up address whose ID is forced into bucket `i` of `local`. */
function contactInBucket(local: Uint8Array, i: number, host = `10.0.${i}.${Math.floor(Math.random() * 250) + 1}`): Contact {
  return { id: randomIdInBucket(local, i), host, port: 1000 + Math.floor(Math.random() * 60000) };
}

describe('routing table', function () {
  this.timeout(5000);

  it('adds, refreshes and never holds itself', () => {
    const { t } = table();
    const c = contactFromAddress({ host: '10.0.0.1', port: 5 });
    expect(t.add(c, 1)).to.equal('added');
    expect(t.add(c, 2)).to.equal('updated');
    expect(t.get(c.id)?.lastSeen).to.equal(2);
    expect(t.add({ id: t.localId, host: '10.0.0.2', port: 1 }, 3)).to.equal('self');
    expect(t.size).to.equal(1);
  });

  it('keeps a full bucket and asks to ping its least-recently-seen contact', () => {
    const { t, full } = table({ k: 4 });
    const bucket0 = Array.from({ length: 4 }, () => contactInBucket(t.localId, 0));
    bucket0.forEach((c, i) => t.add(c, i));
    t.add(bucket0[0]!, 10); // seen again: now the most recent
    const newcomer = contactInBucket(t.localId, 0);
    expect(t.add(newcomer, 11)).to.equal('bucket-full');
    expect(t.has(newcomer.id)).to.equal(false);
    expect(full).to.have.length(1);
    expect(toHex(full[0]!.oldest.id)).to.equal(toHex(bucket0[1]!.id));
    expect(toHex(full[0]!.candidate.id)).to.equal(toHex(newcomer.id));
  });

  it('keeps a recently heard oldest contact without a challenge, and refuses to verify newcomers for a full bucket', () => {
    const { t, full } = table({ k: 2, freshForMs: 1000 });
    const [a, b, c] = Array.from({ length: 3 }, () => contactInBucket(t.localId, 0));
    t.add(a!, 100);
    t.add(b!, 200);
    expect(t.wouldAccept(c!)).to.equal(false);
    expect(t.add(c!, 900)).to.equal('bucket-full');
    expect(full).to.have.length(0);
    expect(t.add(c!, 1100)).to.equal('bucket-full');
    expect(full.map((f) => toHex(f.oldest.id))).to.deep.equal([toHex(a!.id)]);
    expect(t.bucketSizes().get(0)).to.equal(2);
  });

  it('limits contacts from one IP in one bucket', () => {
    const { t } = table({ maxPerIpPerBucket: 2 });
    const same = Array.from({ length: 3 }, () => contactInBucket(t.localId, 0, '10.9.9.9'));
    expect(t.add(same[0]!, 1)).to.equal('added');
    expect(t.add(same[1]!, 1)).to.equal('added');
    expect(t.add(same[2]!, 1)).to.equal('ip-limit');
    expect(t.wouldAccept(same[2]!)).to.equal(false);
    // The same IP is still welcome in another bucket.
    expect(t.add(contactInBucket(t.localId, 1, '10.9.9.9'), 1)).to.equal('added');
  });

  it('drops a contact after repeated failures, and an answer resets the count', () => {
    const { t } = table();
    const c = contactFromAddress({ host: '10.0.0.1', port: 5 });
    t.add(c, 1);
    expect(t.recordFailure(c.id)).to.equal(false);
    t.add(c, 2);
    expect(t.recordFailure(c.id)).to.equal(false);
    expect(t.recordFailure(c.id)).to.equal(true);
    expect(t.has(c.id)).to.equal(false);
  });

  it('returns the exact closest contacts in XOR order', () => {
    const { t } = table();
    for (let i = 0; i < 300; i++) t.add(contactFromAddress({ host: `10.1.${i >> 8}.${i & 255}`, port: 1 + i }), i);
    const all = t.all();
    for (let j = 0; j < 20; j++) {
      const target = randomBytes(20);
      const truth = [...all].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, 20).map((c) => toHex(c.id));
      expect(t.closest(target, 20).map((c) => toHex(c.id))).to.deep.equal(truth);
    }
  });

  it('names stale buckets for refresh and not fresh ones', () => {
    const { t } = table();
    for (let i = 0; i < 4; i++) t.add(contactInBucket(t.localId, i), 0);
    const targets = t.staleBucketTargets(1000, 500);
    expect(targets.map((id) => commonPrefixLength(t.localId, id))).to.deep.equal([0, 1, 2, 3, 4]);
    expect(t.staleBucketTargets(1200, 500)).to.deep.equal([]);
    t.touch(randomIdInBucket(t.localId, 2), 1600);
    expect(t.staleBucketTargets(1600, 500).map((id) => commonPrefixLength(t.localId, id))).to.deep.equal([0, 1, 3, 4]);
  });
});
