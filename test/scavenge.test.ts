import { expect } from 'chai';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { ScavengeEvery } from '../src/util/scavenge.js';

describe('scavenge (young-generation collections on demand)', function () {
  this.timeout(10_000);

  it('collects the young generation once every so many bytes counted, not before', async () => {
    const minor: number[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor.push(e.startTime);
    });
    observer.observe({ entryTypes: ['gc'] });
    try {
      const every = new ScavengeEvery(1000);
      const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
      await settle();
      minor.length = 0;
      every.count(999);
      await settle();
      const before = minor.length;
      every.count(1);
      every.count(2500);
      await settle();
      // Two thresholds crossed: two collections of ours (the heap may add its own).
      expect(minor.length - before).to.be.at.least(2);
    } finally {
      observer.disconnect();
    }
  });
});
