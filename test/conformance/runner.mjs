// Runs the conformance bundle with jasmine 3 and writes { [spec full name]: status } as JSON.
// Usage: node runner.mjs <bundle.cjs> <results.json>; the backend and kernels come from the
// environment that conformance.ts sets (see testEnv.ts).
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import Jasmine from 'jasmine';

const [bundle, out] = process.argv.slice(2);
const jasmine = new Jasmine(); // installs describe/it/expect as globals, which the bundle needs
jasmine.exitOnCompletion = false;
jasmine.loadConfig({ random: false, spec_files: [] });
jasmine.env.clearReporters();
const results = {};
const messages = {};
jasmine.env.addReporter({
  specDone(spec) {
    results[spec.fullName] = spec.status;
    if (spec.status === 'failed') messages[spec.fullName] = spec.failedExpectations[0]?.message.split('\n')[0];
  },
});
createRequire(import.meta.url)(bundle);
await jasmine.execute();
writeFileSync(out, JSON.stringify({ results, messages }));
