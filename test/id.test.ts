import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { commonPrefixLength, compareDistance, randomIdInBucket, xorDistance } from '../src/dht/id.js';
import { formatAddress, parseAddress } from '../src/net/address.js';
import { fromHex, toHex } from '../src/util/bytes.js';
import { nodeIdFromAddress } from '../src/net/node-id.js';

describe('node IDs and the XOR metric', function () {
  this.timeout(5000);

  it('derives the ID as SHA-1 of host:port, IPv6 in brackets', () => {
    const v4 = nodeIdFromAddress({ host: '127.0.0.1', port: 4000 });
    expect(toHex(v4)).to.equal(createHash('sha1').update('127.0.0.1:4000').digest('hex'));
    const v6 = nodeIdFromAddress({ host: '::1', port: 4000 });
    expect(toHex(v6)).to.equal(createHash('sha1').update('[::1]:4000').digest('hex'));
    expect(v4).to.have.length(20);
  });

  it('treats IPv4-mapped IPv6 as plain IPv4 so one peer has one ID', () => {
    expect(toHex(nodeIdFromAddress({ host: '::ffff:10.0.0.1', port: 1 }))).to.equal(toHex(nodeIdFromAddress({ host: '10.0.0.1', port: 1 })));
  });

  it('parses and formats addresses, refusing hostnames and bad ports', () => {
    expect(parseAddress('10.1.2.3:99')).to.deep.equal({ host: '10.1.2.3', port: 99 });
    expect(parseAddress('[FE80::1]:7')).to.deep.equal({ host: 'fe80::1', port: 7 });
    expect(formatAddress({ host: 'fe80::1', port: 7 })).to.equal('[fe80::1]:7');
    expect(() => parseAddress('localhost:80')).to.throw(/IP address/);
    expect(() => parseAddress('1.2.3.4:0')).to.throw(/port/);
    expect(() => parseAddress('1.2.3.4:70000')).to.throw(/port/);
    expect(() => parseAddress('1.2.3.4')).to.throw(/host:port/);
  });

  it('computes XOR distance and orders by it', () => {
    const a = fromHex('00'.repeat(19) + '01');
    const b = fromHex('00'.repeat(19) + '03');
    expect(toHex(xorDistance(a, b))).to.equal('00'.repeat(19) + '02');
    const target = fromHex('00'.repeat(20));
    expect(compareDistance(target, a, b)).to.be.lessThan(0);
    expect(compareDistance(target, b, a)).to.be.greaterThan(0);
    expect(compareDistance(target, a, a)).to.equal(0);
  });

  it('counts the common prefix (bucket index)', () => {
    const zero = new Uint8Array(20);
    const top = fromHex('80' + '00'.repeat(19));
    const low = fromHex('00'.repeat(19) + '01');
    expect(commonPrefixLength(zero, top)).to.equal(0);
    expect(commonPrefixLength(zero, low)).to.equal(159);
    expect(commonPrefixLength(zero, zero)).to.equal(160);
  });

  it('makes random IDs that land in the asked bucket', () => {
    const id = nodeIdFromAddress({ host: '127.0.0.1', port: 1234 });
    for (const i of [0, 1, 7, 8, 9, 63, 100, 159]) {
      for (let j = 0; j < 20; j++) expect(commonPrefixLength(id, randomIdInBucket(id, i))).to.equal(i);
    }
  });
});
