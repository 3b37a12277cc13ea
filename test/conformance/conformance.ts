/**
 * Runs tfjs-core's own test suite (about 4,200 specs) on 'cpu' and 'wasm', once with TF.js's
 * stock kernels and once with this library's registered, and lists the specs that pass stock
 * and fail with the library. `npm run conformance` prints the report; conformance.test.ts runs
 * it in `npm test`.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';

export type Backend = 'cpu' | 'wasm';
export type Kernels = 'stock' | 'library';

export interface SuiteRun {
  /** Status ('passed', 'failed', 'pending') per spec full name. */
  results: Record<string, string>;
  /** The first failed expectation of each failed spec. */
  messages: Record<string, string>;
  /** Errors outside specs (beforeAll/afterAll, loading). */
  suiteErrors: string[];
}

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const cache = join(root, 'node_modules', '.cache', 'conformance');
const bundle = join(cache, 'suite.cjs');

/** Bundles suite.ts and everything it imports into one CommonJS file. */
export async function buildSuite(): Promise<void> {
  mkdirSync(cache, { recursive: true });
  await build({
    entryPoints: [join(here, 'suite.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    // tfjs-core's package.json marks its files side-effect free, which would drop every test file.
    ignoreAnnotations: true,
    // The ES modules first, so that the library, the backends and the spec files share one tfjs-core.
    mainFields: ['module', 'main'],
    external: ['jasmine-core'],
    logLevel: 'error',
  });
}

/** Runs the bundled suite in a fresh process, so each run starts with a clean engine and heap. */
export async function runSuite(backend: Backend, kernels: Kernels): Promise<SuiteRun> {
  const out = join(cache, `${backend}-${kernels}.json`);
  await promisify(execFile)(process.execPath, [join(here, 'runner.mjs'), bundle, out], {
    env: {
      ...process.env,
      CONFORMANCE_BACKEND: backend,
      CONFORMANCE_KERNELS: kernels,
      CONFORMANCE_WASM_DIR: join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist') + '/',
    },
    maxBuffer: 1 << 28, // the suite logs a lot (profiles, warnings); it is dropped
  });
  return JSON.parse(readFileSync(out, 'utf8')) as SuiteRun;
}

export interface Comparison {
  backend: Backend;
  stockPassed: number;
  stockFailed: number;
  libraryPassed: number;
  libraryFailed: number;
  /** Specs that pass stock and fail (or no longer run) with the library, with the failure. */
  regressions: { spec: string; message: string }[];
  /** Specs that fail stock and pass with the library. */
  fixes: string[];
  /** Errors outside specs with the library that stock does not have. */
  suiteErrors: string[];
}

export function compare(backend: Backend, stock: SuiteRun, library: SuiteRun): Comparison {
  const count = (run: SuiteRun, status: string) => Object.values(run.results).filter((s) => s === status).length;
  const specs = Object.keys(stock.results);
  return {
    backend,
    stockPassed: count(stock, 'passed'),
    stockFailed: count(stock, 'failed'),
    libraryPassed: count(library, 'passed'),
    libraryFailed: count(library, 'failed'),
    regressions: specs
      .filter((spec) => stock.results[spec] === 'passed' && library.results[spec] !== 'passed')
      .map((spec) => ({ spec, message: library.messages[spec] ?? `status ${library.results[spec] ?? 'missing'}` })),
    fixes: specs.filter((spec) => stock.results[spec] === 'failed' && library.results[spec] === 'passed'),
    suiteErrors: library.suiteErrors.filter((e) => !stock.suiteErrors.includes(e)),
  };
}

/** Both backends, stock and library; two processes at a time. */
export async function runConformance(): Promise<Comparison[]> {
  await buildSuite();
  const comparisons: Comparison[] = [];
  for (const backend of ['cpu', 'wasm'] as const) {
    const [stock, library] = await Promise.all([runSuite(backend, 'stock'), runSuite(backend, 'library')]);
    comparisons.push(compare(backend, stock!, library!));
  }
  return comparisons;
}

export function formatComparison(c: Comparison): string {
  const lines = [
    `${c.backend}: stock ${c.stockPassed} passed, ${c.stockFailed} failed; ` +
      `library ${c.libraryPassed} passed, ${c.libraryFailed} failed; ` +
      `${c.regressions.length} regressions, ${c.fixes.length} fixes`,
    ...c.regressions.map((r) => `  REGRESSION ${r.spec}: ${r.message}`),
    ...c.suiteErrors.map((e) => `  SUITE ERROR ${e}`),
  ];
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const comparisons = await runConformance();
  for (const c of comparisons) {
    console.log(formatComparison(c));
    if (process.argv.includes('--fixes')) for (const spec of c.fixes) console.log(`  fix ${spec}`);
  }
}
