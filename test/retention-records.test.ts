/** The snapshot-added record's tags field: written only when there are tags, older records still decode. */
import { expect } from 'chai';
import { decodeRecord, encodeRecord, type CatalogRecord } from '../src/snapshot/catalog-records.js';
import { SnapshotFormatError } from '../src/snapshot/errors.js';

const base = { type: 'snapshot-added' as const, id: 's1', createdAt: 1_700_000_000_000, source: '/src', root: new Uint8Array(32).fill(7), parent: null, files: 3, bytes: 42 };

describe('snapshot-added tags (catalog record)', () => {
  it('a record without tags is the 8-field one, and decodes without tags', () => {
    const out = encodeRecord(base);
    expect(out).to.have.length(8);
    expect(decodeRecord(out, 0)).to.deep.equal(base);
  });

  it('tags round-trip as a 9th field', () => {
    const tagged: CatalogRecord = { ...base, tags: ['daily', 'v1'] };
    const out = encodeRecord(tagged);
    expect(out).to.have.length(9);
    expect(decodeRecord(out, 0)).to.deep.equal(tagged);
  });

  it('bad tags are MALFORMED, not a crash', () => {
    const out = encodeRecord(base);
    for (const bad of [[...out, 'daily'], [...out, [1]], [...out, ['a'], 'extra']]) {
      expect(() => decodeRecord(bad, 0)).to.throw(SnapshotFormatError).with.property('code', 'MALFORMED');
    }
  });
});
