// Runs the conformance bundle with jasmine 3 and writes each spec's status (by full name),
// failure messages and errors outside specs as JSON.
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
const suiteErrors = [];
jasmine.env.addReporter({
  specDone(spec) {
    // Some specs share a full name; later ones are told apart by their order.
    let name = spec.fullName;
    for (let n = 2; name in results; n++) name = `${spec.fullName} (#${n})`;
    results[name] = spec.status;
    if (spec.status === 'failed') messages[name] = spec.failedExpectations[0]?.message.split('\n')[0];
  },
  // Errors outside specs (a throwing beforeAll/afterAll, or a file that fails to load).
  suiteDone(suite) {
    for (const f of suite.failedExpectations) suiteErrors.push(`${suite.fullName}: ${f.message.split('\n')[0]}`);
  },
  jasmineDone(result) {
    for (const f of result.failedExpectations) suiteErrors.push(`(top level): ${f.message.split('\n')[0]}`);
  },
});
createRequire(import.meta.url)(bundle);
await jasmine.execute();
writeFileSync(out, JSON.stringify({ results, messages, suiteErrors }));
