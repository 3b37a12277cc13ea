/**
 * One row of the inference benchmark (bench/inference.ts), in a process of its own so that its
 * peak RSS is its own:
 *
 *     tsx bench/inferenceCase.ts --case mnist|b32|b1 --engine tfjs|onnxruntime|raw [--workers N] [--threads N]
 *
 * Cases: `mnist` is `evaluate` of the seed MNIST model on the 10k MNIST test images at batch 256;
 * `b32` is `predictBatches` of torchvision's MobileNetV2 (α 1, 224 px, 1,000 classes) over 256
 * images at batch 32; `b1` is that model's latency on one image (median of 20 calls). Engines:
 * the library on TF.js (`--workers`), the library on onnxruntime (`engine: 'onnxruntime'`, its
 * session made by an untimed first call, whose time is `firstCallSeconds`), and `raw`:
 * onnxruntime-node's `session.run` alone on exportOnnx's NCHW file, inputs prepared beforehand.
 * Prints one JSON line.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadMnist } from '../src/data/mnist.js';
import { exportOnnx, mobileNetV2, mobileNetV2Mnist, predictBatches, tf, useBackend } from '../src/index.js';
import { evaluate } from '../src/training/evaluate.js';

const { values } = parseArgs({
  options: {
    case: { type: 'string', default: 'b32' },
    engine: { type: 'string', default: 'onnxruntime' },
    workers: { type: 'string', default: '1' },
    threads: { type: 'string', default: String(availableParallelism()) },
  },
});
const engine = values.engine as 'tfjs' | 'onnxruntime' | 'raw';
const workers = Number(values.workers);
const threads = Number(values.threads);
const BATCH = values.case === 'mnist' ? 256 : values.case === 'b32' ? 32 : 1;

await useBackend('wasm');
const model = values.case === 'mnist' ? mobileNetV2Mnist({ seed: 0 }) : mobileNetV2({ seed: 0 });
const shape = model.inputs[0]!.shape.slice(1) as [number, number, number];
const options = { engine: engine === 'raw' ? 'onnxruntime' : engine, workers, threads } as const;

/** The data each case runs on: the MNIST test set, or random images (made once, untimed). */
async function inputs(): Promise<{ data?: Awaited<ReturnType<typeof loadMnist>>; images?: tf.Tensor4D; count: number }> {
  if (values.case === 'mnist') {
    const data = await loadMnist({ split: 'test' });
    return { data, count: data.length };
  }
  const count = values.case === 'b32' ? 256 : 1;
  return { images: tf.randomNormal([count, ...shape], 0, 1, 'float32', 1) as tf.Tensor4D, count };
}

/** `session.run` over NCHW batches of the same images, prepared before timing. */
async function rawBatches(source: Awaited<ReturnType<typeof inputs>>): Promise<ort.Tensor[]> {
  const batches: ort.Tensor[] = [];
  for (let start = 0; start < source.count; start += BATCH) {
    const n = Math.min(BATCH, source.count - start);
    const x = source.data ? (await source.data.batch(Array.from({ length: n }, (_, i) => start + i))) : { x: tf.slice(source.images!, start, n), y: null };
    const nchw = tf.tidy(() => tf.transpose(x.x, [0, 3, 1, 2]));
    batches.push(new ort.Tensor('float32', nchw.dataSync() as Float32Array, nchw.shape));
    tf.dispose([x.x, nchw, ...(x.y ? [x.y] : [])]);
  }
  return batches;
}

const source = await inputs();
let run: () => Promise<void>;
let firstCallSeconds: number | undefined;
if (engine === 'raw') {
  const started = performance.now();
  const session = await ort.InferenceSession.create(await exportOnnx(model), {
    executionProviders: ['cpu'], graphOptimizationLevel: 'all', executionMode: 'sequential', intraOpNumThreads: threads, interOpNumThreads: 1,
  });
  firstCallSeconds = (performance.now() - started) / 1000;
  const batches = await rawBatches(source);
  run = async () => {
    for (const input of batches) await session.run({ input });
  };
} else if (values.case === 'mnist') {
  run = async () => void (await evaluate(model, source.data!, { batchSize: BATCH, ...options }));
} else {
  run = async () => (await predictBatches(model, source.images!, { batchSize: BATCH, ...options })).dispose();
}

// One untimed call: kernels compiled, the onnxruntime session made (a server pays this once);
// then, as for raw session.run, one untimed pass over the whole input, so that both sides are
// timed warm (V8's compiled loops, onnxruntime's arena).
if (engine !== 'raw') {
  const started = performance.now();
  if (values.case === 'mnist') await evaluate(model, source.data!, { batchSize: BATCH, limit: BATCH, ...options });
  else (await predictBatches(model, tf.slice(source.images!, 0, 1), { batchSize: BATCH, ...options })).dispose();
  firstCallSeconds = (performance.now() - started) / 1000;
}
await run();

let result: Record<string, number>;
if (values.case === 'b1') {
  const times: number[] = [];
  for (let i = 0; i < 23; i++) {
    const started = performance.now();
    await run();
    if (i >= 3) times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  result = { msPerImage: +times[times.length >> 1]!.toFixed(2) };
} else {
  const started = performance.now();
  await run();
  result = { imgPerSec: +(source.count / ((performance.now() - started) / 1000)).toFixed(1) };
}
console.log(JSON.stringify({
  impl: engine === 'raw' ? 'onnxruntime session.run' : `library ${engine}`, case: values.case, batch: BATCH, images: source.count,
  ...(engine === 'tfjs' ? { workers } : { threads }), ...result,
  ...(firstCallSeconds !== undefined && { firstCallSeconds: +firstCallSeconds.toFixed(2) }),
  peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
}));
