/**
 * Where the onnxruntime engine's time goes beside raw `session.run`, at α 1, 224 px, batch 32:
 * `npx tsx bench/profileEngine.ts [--images 256] [--threads 2] [--rounds 3]`.
 *
 * In one process, rounds of: raw `session.run` on `exportOnnx`'s NCHW file and on the engine's
 * own NHWC file (inputs prepared beforehand), reading the images out of TF.js (`data()`), and
 * the library's `predictBatches` with `engine: 'onnxruntime'`. Prints ms per batch for each.
 */
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { architectureOf, exportOnnx, mobileNetV2, predictBatches, tf, useBackend } from '../src/index.js';
import { onnxModel } from '../src/export/exportOnnx.js';

const { values } = parseArgs({ options: { images: { type: 'string', default: '256' }, threads: { type: 'string', default: '2' }, rounds: { type: 'string', default: '3' } } });
const count = Number(values.images);
const threads = Number(values.threads);
const BATCH = 32;
await useBackend('wasm');
const model = mobileNetV2({ seed: 0 });
const images = tf.randomNormal([count, 224, 224, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
const sessionOf = async (bytes: Uint8Array) => ort.InferenceSession.create(bytes, {
  executionProviders: ['cpu'], graphOptimizationLevel: 'all', executionMode: 'sequential', intraOpNumThreads: threads, interOpNumThreads: 1,
});
const nchw = await sessionOf(await exportOnnx(model));
const nhwc = await sessionOf(await onnxModel(model, architectureOf(model)!, { layout: 'nhwc', pooledOutput: true, freeSize: true }));
const batchesOf = (layout: 'nchw' | 'nhwc') => {
  const out: ort.Tensor[] = [];
  for (let start = 0; start < count; start += BATCH) {
    const x = tf.tidy(() => {
      const b = tf.slice(images, start, Math.min(BATCH, count - start));
      return layout === 'nchw' ? tf.transpose(b, [0, 3, 1, 2]) : b;
    });
    out.push(new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape));
    x.dispose();
  }
  return out;
};
const inputs = { nchw: batchesOf('nchw'), nhwc: batchesOf('nhwc') };
const batches = Math.ceil(count / BATCH);
const time = async (f: () => Promise<unknown>) => {
  const started = performance.now();
  await f();
  return (performance.now() - started) / batches;
};
const cases: Record<string, () => Promise<unknown>> = {
  'raw session.run, NCHW file': async () => { for (const input of inputs.nchw) await nchw.run({ input }); },
  'raw session.run, engine NHWC file': async () => { for (const input of inputs.nhwc) await nhwc.run({ input }, [nhwc.outputNames[0]!]); },
  'images.data() (read out of TF.js)': async () => images.data(),
  "predictBatches, engine 'onnxruntime'": async () => (await predictBatches(model, images, { batchSize: BATCH, engine: 'onnxruntime', threads })).dispose(),
};
for (const f of Object.values(cases)) await f(); // warm: sessions, arenas, V8
const rows: Record<string, number[]> = {};
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [name, f] of Object.entries(cases)) (rows[name] ??= []).push(await time(f));
}
for (const [name, ms] of Object.entries(rows)) console.log(`${name.padEnd(40)} ${ms.map((m) => m.toFixed(1)).join(' / ')} ms per batch of ${BATCH}`);
