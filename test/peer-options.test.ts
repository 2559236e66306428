import { expect } from 'chai';
import { DEFAULTS, resolvePeerOptions } from '../src/peer/options.js';
import { ManualClock, systemClock } from '../src/util/clock.js';

describe('peer options (pure)', function () {
  this.timeout(5000);

  it('fills every default once, and keeps what was given', () => {
    const o = resolvePeerOptions({ dataDir: '/tmp/x', storage: 0 });
    expect(o.host).to.equal(DEFAULTS.host);
    expect(o.port).to.equal(0);
    expect(o.clock).to.equal(systemClock);
    expect(o.contracts).to.deep.equal(DEFAULTS.contracts);
    expect(o.uploadConcurrency).to.equal(DEFAULTS.uploadConcurrency);
    expect(o.maintenanceIntervalMs).to.equal(DEFAULTS.maintenanceIntervalMs);
    expect(o.bootstrap).to.deep.equal([]);
    const clock = new ManualClock();
    const given = resolvePeerOptions({ dataDir: '/tmp/x', storage: 5, host: '127.0.0.2', port: 4000, clock, uploadConcurrency: 1, contracts: { graceMs: 5 } });
    expect(given).to.include({ host: '127.0.0.2', port: 4000, clock, uploadConcurrency: 1, storage: 5 });
    expect(given.contracts).to.deep.equal({ ...DEFAULTS.contracts, graceMs: 5 });
  });

  it('refuses a storage offer that is not a whole number of bytes', () => {
    for (const storage of [-1, 1.5, Number.NaN, 2 ** 60]) {
      expect(() => resolvePeerOptions({ dataDir: '/tmp/x', storage }), String(storage)).to.throw(/whole number of bytes/);
    }
  });
});
