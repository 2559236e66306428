// Mocha's spec reporter plus the plain closing line CI reads: "N passed, N failed".
'use strict';
const Mocha = require('mocha');

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats ?? { passes: 0, failures: 0, pending: 0 };
      // Printed after the spec reporter's own epilogue.
      process.nextTick(() => console.log(`${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ''}`));
    });
  }
}

module.exports = SummaryReporter;
