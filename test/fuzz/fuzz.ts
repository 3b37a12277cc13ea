/**
 * Randomized differential test of this library's kernels and gradients against TF.js's stock
 * ones. Each case runs with the stock kernels on 'cpu' (the reference) and with the library's
 * on the backend under test; it passes when the library matches stock cpu, or matches what the
 * stock kernels give on that same backend (where stock wasm itself differs from stock cpu, or
 * the library fell back to stock). Thousands of cases run in one process, so that a stray write
 * into the wasm heap shows up later: canary tensors and a stock op are checked every
 * `checkEvery` cases and at the end.
 *
 * `npm run fuzz -- --cases N --seed S [--backend wasm|cpu] [--first I]`
 */
import { fileURLToPath } from 'node:url';
import { registerKernels, restoreStockKernels } from '../../src/backend/registerKernels.js';
import { tf } from '../../src/tf.js';
import { generateCase, type FuzzCase } from './cases.js';
import { difference, type Outcome } from './compare.js';
import { Rng } from './random.js';

export type Backend = 'cpu' | 'wasm';

export interface FuzzOptions {
  cases: number;
  seed: number;
  /** The first case's index (default 0), to replay a failure: cases [first, first + cases). */
  first?: number;
  backends: readonly Backend[];
  /** Heap checks every this many cases (default 100). */
  checkEvery?: number;
  /** Called after every case (progress). */
  onCase?: (index: number, backend: Backend) => void;
}

export interface FuzzFailure {
  backend: Backend;
  index: number;
  kind: string;
  desc: string;
  reason: string;
}

export interface FuzzReport {
  cases: number;
  /** Cases per kind, over all backends. */
  kinds: Record<string, number>;
  failures: FuzzFailure[];
  /**
   * Cases the library rejected on wasm (RejectedInput: input for which stock wasm reads or
   * writes outside its buffers; see BEHAVIOUR_DIFFERENCES in test/conformance/accepted.ts).
   */
  rejected: Record<string, number>;
  /** Heap damage seen by a canary or sanity check, with the case after which it was found. */
  heapDamage: string[];
}

async function outcome(c: FuzzCase, backend: Backend, kernels: 'stock' | 'library'): Promise<Outcome> {
  if (kernels === 'stock') restoreStockKernels();
  else registerKernels();
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  try {
    const outs = tf.tidy(() => [kernels === 'stock' && c.reference ? c.reference() : c.run()].flat());
    const outputs = outs.map((t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync()) }));
    tf.dispose(outs);
    return { outputs, leaked: tf.memory().numTensors - before };
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { error: message.split('\n')[0]!, leaked: tf.memory().numTensors - before };
  }
}

/** Canary tensors on the backend under test, plus a stock op with a known result. */
class HeapCheck {
  private readonly canaries: { tensor: tf.Tensor; values: Float32Array }[] = [];
  private readonly rng: Rng;

  constructor(seed: number) {
    this.rng = new Rng(seed ^ 0x5bd1e995);
  }

  /** Adds a canary (of a random size, so it lands between the kernels' buffers) and checks all. */
  check(): string | null {
    const values = Float32Array.from(this.rng.values(this.rng.int(1, 4096), 'float32', false));
    this.canaries.push({ tensor: tf.tensor(values), values });
    if (this.canaries.length > 32) this.canaries.shift()!.tensor.dispose();
    for (const [i, { tensor, values: want }] of this.canaries.entries()) {
      const have = tensor.dataSync();
      if (have.some((v, j) => !Object.is(v, want[j]))) return `canary ${i} of ${this.canaries.length} changed`;
    }
    const sum = tf.tidy(() => tf.add(tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2])), tf.ones([2, 2])).dataSync());
    if (sum.join() !== '20,23,44,51') return `stock matMul/add gave ${sum.join()}`;
    return null;
  }

  dispose(): void {
    for (const { tensor } of this.canaries.splice(0)) tensor.dispose();
  }
}

/**
 * Why `ours` is wrong, 'rejected' for input the library rejects on wasm, or null. On wasm,
 * where stock wasm itself differs from stock cpu or throws its own errors, matching what the
 * stock wasm kernels give also passes.
 */
async function judge(c: FuzzCase, backend: Backend, ours: Outcome, reference: Outcome): Promise<string | null> {
  const reason = difference(ours, reference, c.exact);
  if (reason === null || backend === 'cpu') return reason;
  if ('error' in ours && ours.error.startsWith('RejectedInput:')) return 'rejected';
  if ('error' in ours && 'error' in reference) return null;
  if (c.reference) return reason;
  const stock = await outcome(c, backend, 'stock');
  return difference(ours, stock, c.exact) === null || ('error' in ours && 'error' in stock) ? null : reason;
}

export async function fuzz({ cases, seed, first = 0, backends, checkEvery = 100, onCase }: FuzzOptions): Promise<FuzzReport> {
  const report: FuzzReport = { cases: 0, kinds: {}, failures: [], rejected: {}, heapDamage: [] };
  for (const backend of backends) {
    registerKernels();
    await tf.setBackend(backend);
    const heap = new HeapCheck(seed);
    heap.check();
    for (let index = first; index < first + cases; index++) {
      const c = generateCase(seed, index, backend);
      report.kinds[c.kind] = (report.kinds[c.kind] ?? 0) + 1;
      const reference = await outcome(c, 'cpu', 'stock');
      const ours = await outcome(c, backend, 'library');
      let reason = await judge(c, backend, ours, reference);
      if (reason === 'rejected') {
        report.rejected[c.kind] = (report.rejected[c.kind] ?? 0) + 1;
        reason = null;
      }
      // A gradient computation that throws leaves behind every tensor the engine saved for its
      // backward pass (TF.js keeps its clones until a pass completes); with this library the
      // engine also saves each node's outputs (src/backend/gradients/releaseEarly.ts), so on such
      // a failure the counts differ by design. Everything else must leak no more than stock.
      const failedGradient = 'error' in ours && 'error' in reference && c.gradient === true;
      if (reason === null && !failedGradient && ours.leaked > Math.max(0, reference.leaked)) reason = `leaked ${ours.leaked} tensors`;
      if (reason !== null) report.failures.push({ backend, index, kind: c.kind, desc: c.desc, reason });
      report.cases++;
      onCase?.(index, backend);
      if ((index + 1) % checkEvery === 0 || index === first + cases - 1) {
        registerKernels();
        await tf.setBackend(backend);
        const damage = heap.check();
        if (damage !== null) {
          report.heapDamage.push(`${backend}, after case ${index}: ${damage}`);
          break; // everything after heap damage is noise
        }
      }
    }
    heap.dispose();
  }
  registerKernels();
  return report;
}

function parseArgs(argv: readonly string[]): FuzzOptions {
  const options: FuzzOptions = { cases: 2000, seed: 1, backends: ['cpu', 'wasm'] };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1] ?? ''];
    if (flag === '--cases' && /^\d+$/.test(value)) options.cases = Number(value);
    else if (flag === '--seed' && /^\d+$/.test(value)) options.seed = Number(value);
    else if (flag === '--first' && /^\d+$/.test(value)) options.first = Number(value);
    else if (flag === '--backend' && (value === 'cpu' || value === 'wasm')) options.backends = [value];
    else {
      throw new Error(`unknown or invalid argument \`${flag} ${value}\`; expected --cases <n>, --seed <n>, --first <n>, --backend cpu|wasm`);
    }
  }
  return options;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let options: FuzzOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  const start = Date.now();
  const report = await fuzz({
    ...options,
    onCase: (i, backend) => {
      if ((i + 1) % 1000 === 0) console.log(`${backend}: ${i + 1} cases, ${((Date.now() - start) / 1000).toFixed(0)} s`);
    },
  });
  for (const f of report.failures) console.log(`FAIL ${f.backend} #${f.index} ${f.kind} ${f.desc}: ${f.reason}`);
  for (const d of report.heapDamage) console.log(`HEAP DAMAGE ${d}`);
  console.log(
    `seed ${options.seed}: ${report.cases} cases on ${options.backends.join(' and ')}, ${report.failures.length} failures, ` +
      `${Object.values(report.rejected).reduce((a, b) => a + b, 0)} rejected on wasm ${JSON.stringify(report.rejected)}, ` +
      `${report.heapDamage.length ? 'heap damage' : 'no heap damage'} (${((Date.now() - start) / 1000).toFixed(0)} s)`,
  );
  console.log(Object.entries(report.kinds).map(([k, n]) => `${k} ${n}`).join(', '));
  process.exit(report.failures.length || report.heapDamage.length ? 1 : 0);
}
