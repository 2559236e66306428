import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { generateSigningKeyPair, signEd25519, signingKeyPairFromSeed, verifyEd25519 } from '../src/crypto/ed25519.js';
import { checkRecord, type DhtRecord, immutableKey, mutableKey, signedPayload, supersedes } from '../src/dht/records.js';

function signed(seq: number, value: Uint8Array, salt?: Uint8Array) {
  const kp = generateSigningKeyPair();
  const record: DhtRecord = { value, publicKey: kp.publicKey, seq, signature: signEd25519(kp, signedPayload(seq, value, salt)), ...(salt ? { salt } : {}) };
  return { kp, record, key: mutableKey(kp.publicKey, salt) };
}

describe('DHT records', function () {
  this.timeout(5000);

  it('derives Ed25519 keys deterministically from a seed', () => {
    const seed = randomBytes(32);
    const a = signingKeyPairFromSeed(seed);
    const b = signingKeyPairFromSeed(seed);
    expect(Buffer.from(a.publicKey).equals(b.publicKey)).to.equal(true);
    const sig = signEd25519(a, Buffer.from('m'));
    expect(verifyEd25519(b.publicKey, Buffer.from('m'), sig)).to.equal(true);
    expect(verifyEd25519(b.publicKey, Buffer.from('n'), sig)).to.equal(false);
    expect(verifyEd25519(randomBytes(31), Buffer.from('m'), sig)).to.equal(false);
  });

  it('accepts an immutable value only under its own hash', () => {
    const value = Buffer.from('hello');
    expect(checkRecord(immutableKey(value), { value })).to.equal(null);
    expect(checkRecord(immutableKey(Buffer.from('other')), { value })).to.equal('KEY_MISMATCH');
  });

  it('accepts a correctly signed mutable record, with and without salt', () => {
    for (const salt of [undefined, Buffer.from('backup-root')]) {
      const { record, key } = signed(3, Buffer.from('pointer'), salt);
      expect(checkRecord(key, record)).to.equal(null);
    }
  });

  it('refuses tampered mutable records', () => {
    const { record, key } = signed(3, Buffer.from('pointer'), Buffer.from('s'));
    expect(checkRecord(key, { ...record, value: Buffer.from('pointes') })).to.equal('BAD_SIGNATURE');
    expect(checkRecord(key, { ...record, seq: 4 })).to.equal('BAD_SIGNATURE');
    const flipped = Buffer.from(record.signature!);
    flipped[0]! ^= 1;
    expect(checkRecord(key, { ...record, signature: flipped })).to.equal('BAD_SIGNATURE');
    // Another key's record cannot be stored under this key, nor with a different salt.
    const other = signed(3, Buffer.from('pointer'), Buffer.from('s'));
    expect(checkRecord(key, other.record)).to.equal('KEY_MISMATCH');
    expect(checkRecord(key, { ...record, salt: Buffer.from('t') })).to.equal('KEY_MISMATCH');
    const { signature: _s, ...unsigned } = record;
    expect(checkRecord(key, unsigned)).to.equal('MISSING_FIELDS');
    expect(checkRecord(key, { ...record, value: randomBytes(2000) })).to.equal('VALUE_TOO_LARGE');
  });

  it('orders mutable records by sequence number', () => {
    const a = signed(5, Buffer.from('a')).record;
    expect(supersedes(a, { ...a, seq: 6 })).to.equal('newer');
    expect(supersedes(a, { ...a, seq: 4 })).to.equal('older');
    expect(supersedes(a, { ...a })).to.equal('same');
    expect(supersedes(a, { ...a, value: Buffer.from('b') })).to.equal('conflict');
    expect(supersedes(undefined, a)).to.equal('newer');
  });
});
